using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Xunit;

namespace Dromedary.Tests.Kernels;

/// <summary>
/// Paged attention against the contiguous cache: sequences of different lengths whose blocks are scattered over
/// the cache in no order, their rows mixed in one call, must get exactly what each sequence gets alone from
/// <see cref="IKernelSet.Attention"/> over its own contiguous cache.
/// </summary>
public sealed class PagedAttentionTests
{
    /// <summary>Three sequences: keys and values for every position, and the queries of their last few positions.</summary>
    internal sealed class Scenario
    {
        public const int Heads = 4, KvHeads = 2, Layers = 2, Layer = 1, BlockSize = 8, Blocks = 16, TableWidth = 6;
        public int HeadDim { get; }
        public int[] Lengths { get; } = [37, 5, 20];
        public int[] QueryRows { get; }
        public float[][] Keys { get; }
        public float[][] Values { get; }
        public float[][] Queries { get; }
        public int[][] Tables { get; }

        /// <param name="queryRows">Rows queried per sequence, at its last positions (the third's 20: a whole prefill).</param>
        public Scenario(int headDim, int seed, int[]? queryRows = null)
        {
            HeadDim = headDim;
            QueryRows = queryRows ?? [3, 1, 20];
            var random = new Random(seed);
            var kvWidth = KvHeads * headDim;
            Keys = Lengths.Select(n => Random(random, n * kvWidth)).ToArray();
            Values = Lengths.Select(n => Random(random, n * kvWidth)).ToArray();
            Queries = QueryRows.Select(n => Random(random, n * Heads * headDim, 2)).ToArray();
            // Blocks dealt out in a shuffled order, so no sequence's blocks are adjacent or ascending.
            var order = Enumerable.Range(0, Blocks).OrderBy(_ => random.Next()).ToArray();
            var next = 0;
            Tables = Lengths.Select(n =>
            {
                var table = new int[TableWidth];
                for (var b = 0; b < (n + BlockSize - 1) / BlockSize; b++) table[b] = order[next++];
                return table;
            }).ToArray();
        }

        public PagedKvShape Shape(int maxRows) => new(Layers, Blocks, BlockSize, KvHeads, HeadDim, TableWidth, maxRows);

        private static float[] Random(Random random, int count, double scale = 1) =>
            Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();

        /// <summary>Every sequence's keys stored in one call, then every query row attended in one call; the output rows in sequence order.</summary>
        public float[] RunPaged(IKernelSet k)
        {
            var kvWidth = KvHeads * HeadDim;
            var stored = Lengths.Sum();
            var queried = QueryRows.Sum();
            using var cache = k.AllocatePagedKvCache(Shape(Math.Max(stored, queried)));

            var positions = Lengths.SelectMany(n => Enumerable.Range(0, n)).ToArray();
            var tables = Lengths.SelectMany((n, s) => Enumerable.Repeat(Tables[s], n).SelectMany(t => t)).ToArray();
            using (var keys = Upload(k, stored, kvWidth, Keys.SelectMany(x => x).ToArray()))
            using (var values = Upload(k, stored, kvWidth, Values.SelectMany(x => x).ToArray()))
                k.StorePagedKv(cache, Layer, keys, values, stored, new PagedRows(positions, tables));

            var queryPositions = Lengths.SelectMany((n, s) => Enumerable.Range(n - QueryRows[s], QueryRows[s])).ToArray();
            var queryTables = QueryRows.SelectMany((n, s) => Enumerable.Repeat(Tables[s], n).SelectMany(t => t)).ToArray();
            using var q = Upload(k, queried, Heads * HeadDim, Queries.SelectMany(x => x).ToArray());
            using var output = k.AllocateActivation(queried, Heads * HeadDim);
            k.PagedAttention(q, cache, Layer, queried, Heads, new PagedRows(queryPositions, queryTables), output);
            var result = new float[queried * Heads * HeadDim];
            k.Download(output, queried, result);
            return result;
        }

        /// <summary>Each sequence alone through the contiguous cache.</summary>
        public float[] RunContiguous(IKernelSet k)
        {
            var kvWidth = KvHeads * HeadDim;
            var result = new List<float>();
            for (var s = 0; s < Lengths.Length; s++)
            {
                using var cache = k.AllocateKvCache(Layers, Lengths[s], KvHeads, HeadDim);
                using (var keys = Upload(k, Lengths[s], kvWidth, Keys[s]))
                using (var values = Upload(k, Lengths[s], kvWidth, Values[s]))
                    k.StoreKv(cache, Layer, keys, values, Lengths[s], 0);
                using var q = Upload(k, QueryRows[s], Heads * HeadDim, Queries[s]);
                using var output = k.AllocateActivation(QueryRows[s], Heads * HeadDim);
                k.Attention(q, cache, Layer, QueryRows[s], Lengths[s] - QueryRows[s], Heads, output);
                var rows = new float[QueryRows[s] * Heads * HeadDim];
                k.Download(output, QueryRows[s], rows);
                result.AddRange(rows);
            }
            return [.. result];
        }

        private static Activation Upload(IKernelSet k, int rows, int cols, float[] values)
        {
            var activation = k.AllocateActivation(rows, cols);
            k.Upload(values, activation);
            return activation;
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(36)]
    public void Paged_attention_gives_the_contiguous_cache_bits(int headDim)
    {
        using var cpu = new CpuKernelSet("cpu", 2, Int8Kernel.Portable);
        var scenario = new Scenario(headDim, seed: headDim);
        var paged = scenario.RunPaged(cpu);
        var contiguous = scenario.RunContiguous(cpu);
        Assert.Equal(contiguous.Length, paged.Length);
        for (var i = 0; i < paged.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(contiguous[i]) == BitConverter.SingleToInt32Bits(paged[i]), $"[{i}] {contiguous[i]} vs {paged[i]}");
    }

    [Fact]
    public void A_block_outside_the_cache_is_refused()
    {
        using var cpu = new CpuKernelSet("cpu", 1, Int8Kernel.Portable);
        var shape = new PagedKvShape(1, 2, 4, 1, 4, 2, 1);
        using var cache = cpu.AllocatePagedKvCache(shape);
        using var keys = cpu.AllocateActivation(1, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => cpu.StorePagedKv(cache, 0, keys, keys, 1, new PagedRows([5], [0, 2])));
        Assert.Throws<ArgumentOutOfRangeException>(() => cpu.StorePagedKv(cache, 0, keys, keys, 1, new PagedRows([8], [0, 1])));
    }

    [Fact]
    public void Block_sizes_must_be_powers_of_two() =>
        Assert.Throws<ArgumentException>(() => new PagedKvShape(1, 2, 12, 1, 4, 2, 1).Validate());
}
