namespace BleOta.Engine.Delta;

/// <summary>
/// The decoding side of <see cref="RangeEncoder"/>. It reads body bytes from a window its owner fills
/// (<see cref="Input"/> from <see cref="Position"/> to <see cref="Limit"/>); reading past the window sets
/// <see cref="Overrun"/> rather than throwing, so a truncated or damaged patch is refused by the caller.
/// </summary>
internal sealed class RangeDecoder
{
    private uint _range = uint.MaxValue;
    private uint _code;

    public byte[] Input { get; set; } = [];

    public int Position { get; set; }

    public int Limit { get; set; }

    /// <summary>Body bytes read so far.</summary>
    public long Consumed { get; private set; }

    public bool Overrun { get; private set; }

    /// <summary>
    /// False once the state is impossible for a well-formed patch (the code outside the range): the body is damaged.
    /// </summary>
    public bool Consistent => _code < _range;

    public void Start()
    {
        for (int i = 0; i < DeltaFormat.CoderInitBytes; i++)
        {
            _code = (_code << 8) | Next();
        }
    }

    public int DecodeBit(ref ushort probability)
    {
        uint bound = (_range >> DeltaFormat.ProbabilityBits) * probability;
        int bit;
        if (_code < bound)
        {
            _range = bound;
            probability += (ushort)((DeltaFormat.ProbabilityOne - probability) >> DeltaFormat.AdaptShift);
            bit = 0;
        }
        else
        {
            _code -= bound;
            _range -= bound;
            probability -= (ushort)(probability >> DeltaFormat.AdaptShift);
            bit = 1;
        }

        Normalize();
        return bit;
    }

    public uint DecodeDirect(int count)
    {
        uint value = 0;
        for (int i = 0; i < count; i++)
        {
            _range >>= 1;
            uint bit = _code >= _range ? 1u : 0u;
            _code -= _range & (0u - bit);
            value = (value << 1) | bit;
            Normalize();
        }

        return value;
    }

    private void Normalize()
    {
        if (_range < DeltaFormat.RangeTop)
        {
            _range <<= 8;
            _code = (_code << 8) | Next();
        }
    }

    private uint Next()
    {
        Consumed++;
        if (Position >= Limit)
        {
            Overrun = true;
            return 0;
        }

        return Input[Position++];
    }
}
