namespace Dromedary.Kernels;

/// <summary>
/// A fixed set of threads that run one parallel loop at a time without allocating: the caller passes a delegate
/// it created once, and items are handed out in chunks from a shared counter so uneven work still balances.
/// Parallel.For allocates per call, which the per-token loop must not do.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _start;
    private int _pending;
    private Action<int, int>? _body;
    private int _count;
    private int _chunk;
    private int _next;
    private volatile bool _stopping;
    private Exception? _failure;

    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _start = new SemaphoreSlim(0);
        _threads = new Thread[threads - 1];
        for (var i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"dromedary-worker-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that work on a loop, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>
    /// Calls <paramref name="body"/>(start, end) over disjoint ranges covering [0, count) on all threads and
    /// returns when every range is done. <paramref name="grain"/> is the smallest range worth handing out.
    /// </summary>
    public void For(int count, int grain, Action<int, int> body)
    {
        if (count <= 0) return;
        if (Threads == 1 || count <= grain)
        {
            body(0, count);
            return;
        }
        // Four chunks per thread balance uneven rows without much counter traffic.
        _chunk = Math.Max(grain, (count + Threads * 4 - 1) / (Threads * 4));
        _count = count;
        _next = 0;
        _body = body;
        _failure = null;
        Volatile.Write(ref _pending, _threads.Length);
        _start.Release(_threads.Length);
        RunChunks();
        // Spin (yielding, never sleeping) for the workers: chunks are balanced so the wait is short, and unlike
        // an event's blocking wait it can never allocate on the caller's thread.
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _pending) != 0) spinner.SpinOnce(sleep1Threshold: -1);
        _body = null;
        if (_failure is { } failure) throw new AggregateException(failure);
    }

    private void RunChunks()
    {
        var body = _body!;
        try
        {
            while (true)
            {
                var start = Interlocked.Add(ref _next, _chunk) - _chunk;
                if (start >= _count) return;
                body(start, Math.Min(_count, start + _chunk));
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
            Interlocked.Exchange(ref _next, _count);
        }
    }

    private void WorkerLoop()
    {
        while (true)
        {
            _start.Wait();
            if (_stopping) return;
            RunChunks();
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        // A pool of one has no workers to wake, and Release(0) throws.
        if (_threads.Length > 0) _start.Release(_threads.Length);
        foreach (var thread in _threads) thread.Join();
        _start.Dispose();
    }
}
