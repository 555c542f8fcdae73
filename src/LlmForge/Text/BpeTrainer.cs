using System.Text;

namespace LlmForge.Text;

/// <summary>
/// Trains a byte-level BPE vocabulary, the way GPT-2's was made (the book's BPE bonus material):
/// the corpus is cut into pieces with GPT-2's pre-tokeniser, every piece starts as its UTF-8
/// bytes, and the most frequent adjacent pair is merged into a new token until the vocabulary has
/// the requested size. Ties go to the pair whose ids are smallest, so training is deterministic.
/// </summary>
public sealed class BpeTrainer
{
    /// <summary>Special tokens appended after the learned ones.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = [Gpt2Tokenizer.EndOfText];

    /// <summary>A pair seen fewer times than this is never merged.</summary>
    public int MinPairCount { get; init; } = 2;

    /// <summary>Called after each merge with (merges done, merges wanted), for progress reports.</summary>
    public Action<int, int>? Progress { get; init; }

    /// <summary>Trains on <paramref name="corpus"/>; the result has at most <paramref name="vocabSize"/> tokens, special ones included.</summary>
    public Gpt2Tokenizer Train(string corpus, int vocabSize)
    {
        var duplicate = SpecialTokens.GroupBy(s => s, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new TokenizerException($"special token {duplicate.Key} is given twice");
        int minimum = 256 + SpecialTokens.Count;
        if (vocabSize < minimum)
            throw new TokenizerException($"vocab size {vocabSize} is too small: a byte-level vocabulary needs 256 byte tokens plus {SpecialTokens.Count} special");

        // Distinct pieces with their counts; special tokens in the corpus are not learned from.
        var pieceCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string part in corpus.Split(SpecialTokens.ToArray(), StringSplitOptions.None))
            foreach (var (start, length) in Gpt2PreTokenizer.Pieces(part))
            {
                string piece = part.Substring(start, length);
                pieceCounts[piece] = pieceCounts.GetValueOrDefault(piece) + 1;
            }
        var words = pieceCounts.Select(p => Encoding.UTF8.GetBytes(p.Key).Select(b => (int)b).ToList()).ToArray();
        var counts = pieceCounts.Values.ToArray();

        var tokenBytes = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToList();
        var idOfBytes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++) idOfBytes[Encoding.Latin1.GetString(tokenBytes[b])] = b;

        // Pair counts, the words each pair occurs in, and a queue ordered by count (stale entries skipped).
        var pairCounts = new Dictionary<long, long>(TokenPair.Comparer);
        var pairWords = new Dictionary<long, HashSet<int>>(TokenPair.Comparer);
        var queue = new PriorityQueue<long, (long NegCount, long Key)>();
        void Count(int w, int sign)
        {
            var word = words[w];
            for (int i = 0; i + 1 < word.Count; i++)
            {
                long key = TokenPair.Pack(word[i], word[i + 1]);
                long total = pairCounts.GetValueOrDefault(key) + sign * (long)counts[w];
                pairCounts[key] = total;
                if (sign > 0)
                {
                    if (!pairWords.TryGetValue(key, out var set)) pairWords[key] = set = new HashSet<int>();
                    set.Add(w);
                }
                if (total > 0) queue.Enqueue(key, (-total, key));
            }
        }
        for (int w = 0; w < words.Length; w++) Count(w, +1);

        var merges = new List<(int Left, int Right, int Merged)>();
        int wanted = vocabSize - SpecialTokens.Count;
        while (tokenBytes.Count < wanted && queue.TryDequeue(out long pair, out var priority))
        {
            long count = pairCounts.GetValueOrDefault(pair);
            if (count != -priority.NegCount) continue; // stale
            if (count < MinPairCount) break;
            int left = TokenPair.Left(pair), right = TokenPair.Right(pair);
            byte[] joined = [.. tokenBytes[left], .. tokenBytes[right]];
            // Two different pairs can spell the same bytes; they share one token.
            string joinedKey = Encoding.Latin1.GetString(joined);
            if (!idOfBytes.TryGetValue(joinedKey, out int merged))
            {
                merged = tokenBytes.Count;
                tokenBytes.Add(joined);
                idOfBytes[joinedKey] = merged;
            }
            merges.Add((left, right, merged));

            foreach (int w in pairWords[pair].ToArray())
            {
                var word = words[w];
                if (!Contains(word, left, right)) continue;
                Count(w, -1);
                // Left to right, in place: removing each merged part from the list would be quadratic in a long word.
                int kept = 0;
                for (int i = 0; i < word.Count; i++)
                {
                    if (i + 1 < word.Count && word[i] == left && word[i + 1] == right)
                    {
                        word[kept++] = merged;
                        i++;
                    }
                    else
                    {
                        word[kept++] = word[i];
                    }
                }
                word.RemoveRange(kept, word.Count - kept);
                Count(w, +1);
            }
            pairCounts.Remove(pair);
            Progress?.Invoke(tokenBytes.Count - 256, wanted - 256);
        }

        var specials = SpecialTokens.Select((s, i) => (s, tokenBytes.Count + i)).ToList();
        tokenBytes.AddRange(SpecialTokens.Select(s => Encoding.UTF8.GetBytes(s)));
        return Gpt2Tokenizer.FromMerges("trained", tokenBytes, merges, specials);
    }

    static bool Contains(List<int> word, int left, int right)
    {
        for (int i = 0; i + 1 < word.Count; i++)
            if (word[i] == left && word[i + 1] == right) return true;
        return false;
    }
}
