namespace LlmForge.Tests;

public class ClassificationDataTests() : ScratchDirectory("cdata-")
{
    static readonly ITokenizer Gpt2 = TokenizerLoader.Gpt2Default;

    string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    static ClassificationData Fixture(int? maxLength = null)
    {
        var file = LabelledText.Read(ClassificationFixture.Spam24);
        return ClassificationData.Encode(ClassificationSplits.FromFiles(file, file, file), Gpt2, contextLength: 64, maxLength);
    }

    [Fact]
    public void FixtureHasSortedLabelsAndIsPaddedToItsLongestText()
    {
        var file = LabelledText.Read(ClassificationFixture.Spam24);
        Assert.Equal(24, file.Examples.Count);
        var data = Fixture();
        Assert.Equal(["ham", "spam"], data.Labels.Names);
        Assert.Equal(ClassificationFixture.Expected.GetProperty("padded_length").GetInt32(), data.PaddedLength);
        Assert.Equal(59, data.Validation.Length);
        var first = ClassificationFixture.Expected.GetProperty("first_example_ids").EnumerateArray().Select(e => e.GetInt64()).ToList();
        var expected = first.Concat(Enumerable.Repeat(50256L, 59 - first.Count)).ToArray();
        var batch = new ClassificationLoader(data.Train, 8, dropLast: false).Batches().First();
        Assert.Equal(expected, batch.InputRow(0));
        Assert.Equal(first.Count, batch.Lengths[0]);
        Assert.Equal(1, batch.Labels[0]); // the file starts with spam
        Assert.Equal(0, batch.Labels[1]);
    }

    [Fact]
    public void LogitsAndFirstBatchLossMatchTheReference()
    {
        using var model = ClassificationFixture.InitialClassifier();
        var loader = new ClassificationLoader(Fixture().Train, 8, shuffle: false, dropLast: true);
        var batch = loader.Batches().First();
        using (var noGrad = no_grad())
        {
            using var logits = ClassificationLoss.Logits(model, batch);
            Assert.Equal([8L, 2], logits.shape);
            var first = logits[0].data<float>().ToArray();
            var expected = ClassificationFixture.Doubles("first_example_last_logits_before");
            Assert.Equal(expected[0], first[0], 1e-4);
            Assert.Equal(expected[1], first[1], 1e-4);
        }
        var (loss, count) = ClassificationLoss.LastPosition(model, batch);
        using (loss)
        {
            Assert.Equal(8, count);
            Assert.True(loss.requires_grad); // trainable: the shared step backpropagates it
            Assert.Equal(ClassificationFixture.Doubles("losses_b8_lr5e-4_wd0.1_2epochs")[0], loss.item<float>(), 1e-4);
        }
        Assert.Equal(ClassificationFixture.Doubles("losses_b8_lr5e-4_wd0.1_2epochs")[0], ClassificationMetrics.MeanLoss(model, loader, numBatches: 1), 1e-4);
    }

    [Fact]
    public void AccuracyCountsArgmaxHitsAndRestoresTrainMode()
    {
        using var model = ClassificationFixture.InitialClassifier();
        var loader = new ClassificationLoader(Fixture().Train, 8, dropLast: false);
        long hits = 0;
        using (var noGrad = no_grad())
            foreach (var batch in loader.Batches())
            {
                using var predicted = ClassificationLoss.Logits(model, batch).argmax(-1);
                hits += predicted.data<long>().ToArray().Zip(batch.Labels).Count(p => p.First == p.Second);
            }
        model.train();
        Assert.Equal(hits / 24.0, ClassificationMetrics.Accuracy(model, loader));
        Assert.True(model.training);
        // Up to N batches: the first only.
        double firstBatch = ClassificationMetrics.Accuracy(model, loader, numBatches: 1);
        Assert.Equal(0, firstBatch * 8 % 1, 1e-12);
        Assert.True(double.IsNaN(ClassificationMetrics.Accuracy(model, loader, numBatches: 0)));
    }

    [Fact]
    public void MeanPoolingIgnoresPaddingWhileTheLastPositionDoesNot()
    {
        using var model = ClassificationFixture.InitialClassifier();
        var padded = new ClassificationLoader(Fixture().Train, 1).Batches().First();  // 50 ids + 9 padding
        var unpadded = new ClassificationLoader(Fixture(maxLength: 50).Train, 1).Batches().First();
        using var noGrad = no_grad();
        float[] Pool(ClassificationBatch b, ClassificationPooling p) => ClassificationLoss.Logits(model, b, p).data<float>().ToArray();
        var mean = Pool(padded, ClassificationPooling.Mean);
        Assert.Equal(Pool(unpadded, ClassificationPooling.Mean), mean, (a, b) => Math.Abs(a - b) < 1e-5);
        Assert.NotEqual(Pool(unpadded, ClassificationPooling.Last), Pool(padded, ClassificationPooling.Last));
        var (loss, count) = ClassificationLoss.For(ClassificationPooling.Mean)(model, padded);
        Assert.Equal(1, count);
        Assert.True(float.IsFinite(loss.item<float>()));
    }

    [Fact]
    public void RealFileBalancesAndSplitsToTheBooksSizes()
    {
        var file = LabelledText.Read(ClassificationFixture.SmsSpam);
        // 4,827 ham: the book's pandas read counted 4,825 by treating quotes as CSV quoting (two lines merged).
        Assert.Equal(4827, file.Examples.Count(e => e.Label == "ham"));
        Assert.Equal(747, file.Examples.Count(e => e.Label == "spam"));
        Assert.Equal("\"Pete can you please ring meive hardly gotany credit\"", file.Examples[588].Text);
        var balanced = ClassificationSplits.Balance(file.Examples, ClassLabels.Of(file), 123);
        Assert.Equal(747, balanced.Count(e => e.Label == "ham"));
        Assert.Equal(747, balanced.Count(e => e.Label == "spam"));
        var splits = ClassificationSplits.FromFile(file, balance: true, seed: 123);
        Assert.Equal((1045, 149, 300), (splits.Train.Count, splits.Validation.Count, splits.Test.Count));
        Assert.Equal(balanced.Select(e => e.Line).Order(), splits.Train.Concat(splits.Validation).Concat(splits.Test).Select(e => e.Line).Order());
        // The seed fixes the split; another seed gives another.
        Assert.Equal(splits.Test.Select(e => e.Line), ClassificationSplits.FromFile(file, true, 123).Test.Select(e => e.Line));
        Assert.NotEqual(splits.Test.Select(e => e.Line), ClassificationSplits.FromFile(file, true, 124).Test.Select(e => e.Line));
        var whole = ClassificationSplits.FromFile(file, balance: false, seed: 123);
        Assert.Equal((3901, 557, 1116), (whole.Train.Count, whole.Validation.Count, whole.Test.Count));
    }

    [Fact]
    public void SplitSizesAreThePythonTruncationOfDoubles()
    {
        Assert.Equal((1045, 149), ClassificationSplits.Sizes(1494));
        Assert.Equal((62, 9), ClassificationSplits.Sizes(90)); // int(90 * 0.7) is 62 in Python: 62.99999999999999
        Assert.Equal((489, 70), ClassificationSplits.Sizes(700));
        Assert.Equal((7, 1), ClassificationSplits.Sizes(10));
    }

    [Fact]
    public void LongerTextsAreTruncatedAndRowsNeverExceedTheContext()
    {
        var file = LabelledText.Read(ClassificationFixture.Spam24);
        var splits = ClassificationSplits.FromFiles(file, file, file);
        var cut = ClassificationData.Encode(splits, Gpt2, contextLength: 40);
        Assert.Equal(40, cut.PaddedLength);
        Assert.Equal(40, cut.Train.RealLength(0));
        Assert.Equal(59, cut.Train.LongestText);
        var given = ClassificationData.Encode(splits, Gpt2, contextLength: 64, maxLength: 20);
        Assert.Equal(20, given.Test.Length);
        var batch = new ClassificationLoader(given.Test, 24).Batches().Single();
        Assert.Equal([24L * 20], [batch.Inputs.LongLength]);
    }

    [Fact]
    public void TsvQuirksAreText()
    {
        // BOM, CRLF, blank lines, quotes that are not CSV quoting, tabs inside the text.
        string path = Write("q.tsv", "\uFEFFham\t\"quoted\" start\r\n\r\nspam\ta\tb, \"c\r\n\nham \tlast");
        var file = LabelledText.Read(path);
        Assert.Equal(["ham", "spam", "ham"], file.Examples.Select(e => e.Label));
        Assert.Equal(["\"quoted\" start", "a\tb, \"c", "last"], file.Examples.Select(e => e.Text));
        Assert.Equal([1, 3, 5], file.Examples.Select(e => e.Line));
    }

    [Fact]
    public void CsvFollowsRfc4180()
    {
        string path = Write("q.csv", "\uFEFFid,text,category\r\n1,\"one, two\",b\r\n2,\"say \"\"hi\"\"\nnext line\",a\r\n\r\n3,plain,b\n");
        var file = LabelledText.Read(path, textColumn: "text", labelColumn: "category");
        Assert.Equal(["b", "a", "b"], file.Examples.Select(e => e.Label));
        Assert.Equal(["one, two", "say \"hi\"\nnext line", "plain"], file.Examples.Select(e => e.Text));
        Assert.Equal([2, 3, 6], file.Examples.Select(e => e.Line));
        Assert.Equal(["a", "b"], ClassLabels.Of(file).Names);
    }

    [Fact]
    public void GivenFilesShareTheUnionOfTheirLabels()
    {
        var train = LabelledText.Read(Write("train.tsv", "b\tx\nb\ty\n"));
        var validation = LabelledText.Read(Write("validation.tsv", "c\tx\n"));
        var test = LabelledText.Read(Write("test.tsv", "a\tx\n"));
        var splits = ClassificationSplits.FromFiles(train, validation, test);
        Assert.Equal(["a", "b", "c"], splits.Labels.Names);
        var data = ClassificationData.Encode(splits, Gpt2, 64);
        Assert.Equal(2, data.Validation.Label(0));
        Assert.Equal(0, data.Test.Label(0));
    }

    string Refused(Action action) => Assert.Throws<BadInputException>(action).Message;

    [Fact]
    public void BadTsvLinesNameTheFileAndLine()
    {
        string noTab = Write("a.tsv", "ham\tfine\nspam no tab here\n");
        Assert.Equal($"{noTab}: line 2: no tab; expected label<TAB>text", Refused(() => LabelledText.Read(noTab)));
        string noLabel = Write("b.tsv", "ham\tfine\n\n\tno label\n");
        Assert.Equal($"{noLabel}: line 3: empty label", Refused(() => LabelledText.Read(noLabel)));
        string noText = Write("c.tsv", "ham\tfine\r\nspam\t  \r\n");
        Assert.Equal($"{noText}: line 2: empty text", Refused(() => LabelledText.Read(noText)));
        string blank = Write("d.tsv", "\n\r\n");
        Assert.Equal($"{blank}: no examples", Refused(() => LabelledText.Read(blank)));
    }

    [Fact]
    public void BadCsvNamesTheLineAndColumn()
    {
        string csv = Write("a.csv", "text,label\nhello,ham\n");
        Assert.Equal($"{csv}: line 1: no column 'category' in the header (columns: 'text', 'label')",
            Refused(() => LabelledText.Read(csv, "text", "category")));
        string emptyText = Write("b.csv", "text,label\nhello,ham\n\"\",spam\n");
        Assert.Equal($"{emptyText}: line 3: empty text (column 'text')", Refused(() => LabelledText.Read(emptyText)));
        string emptyLabel = Write("c.csv", "text,label\nhello, \n");
        Assert.Equal($"{emptyLabel}: line 2: empty label (column 'label')", Refused(() => LabelledText.Read(emptyLabel)));
        string open = Write("d.csv", "text,label\nhello,ham\n\"never\nclosed,spam\n");
        Assert.Equal($"{open}: line 3: a quoted field is not closed", Refused(() => LabelledText.Read(open)));
        string fields = Write("e.csv", "text,label\nhello,ham,extra\n");
        Assert.Equal($"{fields}: line 2: 3 fields, expected 2 as in the header", Refused(() => LabelledText.Read(fields)));
        string after = Write("f.csv", "text,label\n\"hello\"x,ham\n");
        Assert.Equal($"{after}: line 2: text after a closing quote (a quote inside a quoted field is written twice)", Refused(() => LabelledText.Read(after)));
    }

    [Fact]
    public void ASingleClassIsRefused()
    {
        string one = Write("one.tsv", "ham\ta\nham\tb\n");
        var file = LabelledText.Read(one);
        Assert.Equal($"{one}: only one label, 'ham'; a classifier needs two or more", Refused(() => ClassificationSplits.FromFile(file, false, 1)));
        Assert.Equal($"{one}: only one label, 'ham'; a classifier needs two or more", Refused(() => ClassificationSplits.FromFiles(file, file, file)));
    }

    [Fact]
    public void ASplitThatLeavesASetEmptyNamesIt()
    {
        string nine = Write("nine.tsv", string.Concat(Enumerable.Range(0, 9).Select(i => $"{(i % 2 == 0 ? "ham" : "spam")}\ttext {i}\n")));
        Assert.Equal($"{nine}: 9 examples leave the validation set empty when split 70/10/20; at least 10 are needed",
            Refused(() => ClassificationSplits.FromFile(LabelledText.Read(nine), false, 123)));
        // 5 ham + 1 spam balance to 1 + 1: one for training, none for validation.
        string few = Write("few.tsv", "ham\ta\nham\tb\nham\tc\nham\td\nham\te\nspam\tf\n");
        Assert.Equal($"{few}: 2 examples after --balance leave the validation set empty when split 70/10/20; at least 10 are needed",
            Refused(() => ClassificationSplits.FromFile(LabelledText.Read(few), true, 123)));
        Assert.Equal(10, ClassificationSplits.FromFile(LabelledText.Read(Write("ten.tsv", File.ReadAllText(nine) + "ham\tz\n")), false, 1)
            is var s ? s.Train.Count + s.Validation.Count + s.Test.Count : 0);
    }

    [Fact]
    public void MaxLengthBeyondTheContextIsRefused()
    {
        var file = LabelledText.Read(ClassificationFixture.Spam24);
        var splits = ClassificationSplits.FromFiles(file, file, file);
        Assert.Equal("--max-length 65 exceeds the model's context length of 64", Refused(() => ClassificationData.Encode(splits, Gpt2, 64, maxLength: 65)));
        Assert.Equal("--max-length must be at least 1, got 0", Refused(() => ClassificationData.Encode(splits, Gpt2, 64, maxLength: 0)));
    }
}
