namespace Dromedary.Kernels.Gpu;

// The paged-cache ops of the ILGPU set (the batched generation engine's cache), kept apart from the set's file.
public sealed partial class IlgpuKernelSet
{
    private GpuPagedAttention? _pagedAttention;

    private GpuPagedAttention Paged => _pagedAttention ??= new GpuPagedAttention(_accelerator);

    public long PagedKvCacheBytes(in PagedKvShape shape) => GpuPagedKvCache.BytesFor(shape);

    public PagedKvCache AllocatePagedKvCache(in PagedKvShape shape)
    {
        shape.Validate();
        if (shape.HeadDim > GpuAttention.MaxHeadDim)
            throw new ArgumentOutOfRangeException(nameof(shape), shape.HeadDim, $"the ilgpu set supports head dimensions up to {GpuAttention.MaxHeadDim}");
        _ = Paged;
        return GpuPagedKvCache.Allocate(_arena, shape);
    }

    public void StorePagedKv(PagedKvCache cache, int layer, Activation keys, Activation values, int rows, in PagedRows batch)
    {
        var c = (GpuPagedKvCache)cache;
        var width = c.Shape.KvHeads * c.Shape.HeadDim;
        if (keys.Cols != width || values.Cols != width)
            throw new ArgumentException($"key and value rows of {keys.Cols} and {values.Cols} do not match the cache's {width}");
        batch.Validate(cache, rows);
        if (rows == 0) return;
        Paged.Store(Gpu(keys).RowsView(rows), Gpu(values).RowsView(rows), c, layer, rows, batch);
    }

    public void PagedAttention(Activation queries, PagedKvCache cache, int layer, int rows, int heads, in PagedRows batch, Activation output)
    {
        var c = (GpuPagedKvCache)cache;
        if (heads < c.Shape.KvHeads || heads % c.Shape.KvHeads != 0)
            throw new ArgumentException($"{heads} query heads do not split evenly over {c.Shape.KvHeads} kv heads");
        if (queries.Cols != heads * c.Shape.HeadDim || output.Cols != queries.Cols)
            throw new ArgumentException($"query and output rows of {queries.Cols} and {output.Cols} are not {heads} heads of {c.Shape.HeadDim}");
        batch.Validate(cache, rows);
        if (rows == 0) return;
        Paged.Forward(Gpu(queries).RowsView(rows), c, layer, rows, heads, batch, Gpu(output).RowsView(rows));
    }
}
