namespace BleOta.Engine.Protocol;

/// <summary>
/// How long v2 waits for a data acknowledgement before it resends, computed as TCP computes its retransmission
/// timeout (RFC 6298): a smoothed round trip from a packet's write to its acknowledgement plus four times its
/// variation, never below the write timeout, doubled after each expiry until a fresh measurement arrives.
/// A link that holds packets back (Windows queues writes without response and sends them in bursts with
/// stalls of a second or two, MicrosoftDocs/winrt-api issue 2423) thus stretches the wait instead of being
/// answered with resends that queue behind the packets still waiting.
/// </summary>
internal sealed class AckTimer(TimeSpan floor)
{
    /// <summary>The longest wait: ATT's 30 s transaction timeout, past which an OS gives a link up anyway.</summary>
    public static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(30);

    private TimeSpan? _smoothed;
    private TimeSpan _variation;
    private int _backoff;

    /// <summary>How long to wait for the next acknowledgement now.</summary>
    public TimeSpan Timeout
    {
        get
        {
            var estimate = _smoothed is { } smoothed ? smoothed + (4 * _variation) : floor;
            var wait = (estimate < floor ? floor : estimate) * Math.Pow(2, _backoff);
            return wait < Ceiling ? wait : Ceiling;
        }
    }

    /// <summary>A round trip of a packet sent once (Karn: a resent packet's acknowledgement could be either copy's).</summary>
    public void Measured(TimeSpan roundTrip)
    {
        if (_smoothed is not { } smoothed)
        {
            _smoothed = roundTrip;
            _variation = roundTrip / 2;
        }
        else
        {
            _variation = (0.75 * _variation) + (0.25 * (smoothed - roundTrip).Duration());
            _smoothed = (0.875 * smoothed) + (0.125 * roundTrip);
        }

        _backoff = 0;
    }

    /// <summary>The wait ran out: the next one is twice as long.</summary>
    public void Expired() => _backoff = Math.Min(_backoff + 1, 16);
}
