namespace BleOta.Engine.Compression;

/// <summary>Deflate's bit order (RFC 1951, 3.1.1): bits fill each byte from its least significant end.</summary>
internal sealed class BitWriter
{
    private readonly MemoryStream _bytes = new();
    private ulong _pending;
    private int _pendingBits;

    /// <summary>Bits written so far, the partial byte included.</summary>
    public long BitCount => _bytes.Length * 8 + _pendingBits;

    /// <summary>The low <paramref name="count"/> bits of <paramref name="value"/> (at most 32), first bit first.</summary>
    public void Write(uint value, int count)
    {
        _pending |= (ulong)(value & (uint)((1UL << count) - 1)) << _pendingBits;
        _pendingBits += count;
        while (_pendingBits >= 8)
        {
            _bytes.WriteByte((byte)_pending);
            _pending >>= 8;
            _pendingBits -= 8;
        }
    }

    /// <summary>A Huffman code: sent from its most significant bit (RFC 1951, 3.1.1), so reversed here.</summary>
    public void WriteCode(uint code, int length)
    {
        uint reversed = 0;
        for (int i = 0; i < length; i++)
        {
            reversed = (reversed << 1) | ((code >> i) & 1);
        }

        Write(reversed, length);
    }

    /// <summary>Pads the partial byte with zero bits.</summary>
    public void AlignToByte()
    {
        if (_pendingBits > 0)
        {
            Write(0, 8 - _pendingBits);
        }
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        AlignToByte();
        _bytes.Write(bytes);
    }

    public byte[] ToArray()
    {
        AlignToByte();
        return _bytes.ToArray();
    }
}
