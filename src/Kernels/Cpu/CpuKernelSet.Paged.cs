namespace Dromedary.Kernels.Cpu;

// The paged-cache ops of the CPU set (the batched generation engine's cache).
public sealed partial class CpuKernelSet
{
    private CpuPagedAttention? _pagedAttention;

    public long PagedKvCacheBytes(in PagedKvShape shape) => CpuPagedKvCache.BytesFor(shape);

    public PagedKvCache AllocatePagedKvCache(in PagedKvShape shape)
    {
        shape.Validate();
        return Count(new CpuPagedKvCache(shape), PagedKvCacheBytes(shape));
    }

    public void StorePagedKv(PagedKvCache cache, int layer, Activation keys, Activation values, int rows, in PagedRows batch) =>
        CpuPagedAttention.Store((CpuPagedKvCache)cache, layer, Cpu(keys).RowsSpan(rows), Cpu(values).RowsSpan(rows), rows, batch);

    public void PagedAttention(Activation queries, PagedKvCache cache, int layer, int rows, int heads, in PagedRows batch, Activation output) =>
        (_pagedAttention ??= new CpuPagedAttention(_pool)).Forward(Cpu(queries).RowsSpan(rows), (CpuPagedKvCache)cache, layer, rows, heads,
            batch, Cpu(output).RowsSpan(rows));
}
