namespace BleOta.Engine.Delta;

/// <summary>
/// The binary adaptive range coder of the delta format, encoding side (docs/protocol.md, "Delta patches"). Every
/// decision is a bit with a 12-bit probability of being 0 that adapts after each use; the coder keeps a 32-bit range
/// and emits a byte whenever the range falls below 2^24, carrying into bytes already emitted when needed.
/// </summary>
internal sealed class RangeEncoder
{
    private readonly List<byte> _output;
    private ulong _low;
    private uint _range = uint.MaxValue;
    private byte _cache;
    private long _pending = 1;  // bytes not yet emitted: the cache byte and the 0xFF bytes that follow it
    private bool _skipFirst = true; // the first byte is always 0: the format leaves it out

    public RangeEncoder(List<byte> output) => _output = output;

    public void EncodeBit(ref ushort probability, int bit)
    {
        uint bound = (_range >> DeltaFormat.ProbabilityBits) * probability;
        if (bit == 0)
        {
            _range = bound;
            probability += (ushort)((DeltaFormat.ProbabilityOne - probability) >> DeltaFormat.AdaptShift);
        }
        else
        {
            _low += bound;
            _range -= bound;
            probability -= (ushort)(probability >> DeltaFormat.AdaptShift);
        }

        Normalize();
    }

    /// <summary>Bits with probability one half, most significant first: for the low bits of large numbers.</summary>
    public void EncodeDirect(uint value, int count)
    {
        for (int i = count - 1; i >= 0; i--)
        {
            _range >>= 1;
            if (((value >> i) & 1) != 0)
            {
                _low += _range;
            }

            Normalize();
        }
    }

    /// <summary>Emits what is left so the decoder can read every decision; the encoder is done afterwards.</summary>
    public void Flush()
    {
        for (int i = 0; i < 5; i++)
        {
            ShiftLow();
        }
    }

    private void Normalize()
    {
        if (_range < DeltaFormat.RangeTop)
        {
            _range <<= 8;
            ShiftLow();
        }
    }

    /// <summary>
    /// Moves the top byte of <c>low</c> out. A byte is held back while a later carry could still change it: the
    /// cache byte and any 0xFF bytes after it, which a carry turns into cache + 1 and 0x00s.
    /// </summary>
    private void ShiftLow()
    {
        if (_low < 0xFF000000UL || _low >= 0x1_0000_0000UL)
        {
            byte carry = (byte)(_low >> 32);
            Emit((byte)(_cache + carry));
            for (; _pending > 1; _pending--)
            {
                Emit((byte)(0xFF + carry));
            }

            _pending = 0;
            _cache = (byte)(_low >> 24);
        }

        _pending++;
        _low = (_low & 0x00FF_FFFFUL) << 8;
    }

    private void Emit(byte value)
    {
        if (_skipFirst)
        {
            _skipFirst = false;
            return;
        }

        _output.Add(value);
    }
}
