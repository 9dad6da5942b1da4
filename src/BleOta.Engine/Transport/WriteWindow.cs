namespace BleOta.Engine.Transport;

/// <summary>
/// Bounds how many writes without response a transport has handed to the OS and not yet seen complete.
/// The OS queues such writes without back-pressure; an unbounded queue turns into lost packets or a
/// stalled link, so a transport enters the window before each write and leaves it when the OS is done.
/// </summary>
public sealed class WriteWindow : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private Exception? _failure;

    public WriteWindow(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Size = size;
        _slots = new SemaphoreSlim(size, size);
    }

    /// <summary>Writes allowed in flight at once.</summary>
    public int Size { get; }

    /// <summary>Writes in flight now.</summary>
    public int InFlight => Size - _slots.CurrentCount;

    /// <summary>
    /// Waits for a free slot. Throws the failure of an earlier write, so a caller streaming packets learns of
    /// it on its next write rather than never.
    /// </summary>
    public async Task EnterAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (Volatile.Read(ref _failure) is not null)
        {
            _slots.Release();
            ThrowIfFailed();
        }
    }

    /// <summary>Frees the slot of a completed write; <paramref name="failure"/> is kept for the next caller.</summary>
    public void Leave(Exception? failure = null)
    {
        if (failure is not null)
        {
            Interlocked.CompareExchange(ref _failure, failure, null);
        }

        _slots.Release();
    }

    /// <summary>Waits until every write in flight has completed (before a write with response, so order holds).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        int taken = 0;
        try
        {
            for (; taken < Size; taken++)
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (taken > 0)
        {
            _slots.Release(taken);
            throw;
        }

        _slots.Release(Size);
        ThrowIfFailed();
    }

    public void Dispose() => _slots.Dispose();

    private void ThrowIfFailed()
    {
        switch (Volatile.Read(ref _failure))
        {
            case BleLinkLostException lost:
                throw new BleLinkLostException($"An earlier write without response failed: {lost.Message}", lost);
            case { } failure:
                throw new BleTransportException($"An earlier write without response failed: {failure.Message}", failure);
        }
    }
}
