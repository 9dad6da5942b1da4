namespace BleOta.Engine.Delta;

/// <summary>Why a patch could not be applied.</summary>
public enum DeltaApplyError
{
    None,

    /// <summary>The header is not a version-1 delta patch, or names another image size or a base larger than the device's.</summary>
    BadHeader,

    /// <summary>The body asks for something impossible (a copy past the base, more bytes than the target has) or ends early or late.</summary>
    Corrupt,

    /// <summary>Reading the base or writing the target failed (the callbacks said so).</summary>
    Io,
}

/// <summary>
/// Applies a delta patch as it streams in, with the bounded state the firmware's applier has
/// (firmware/components/ble_ota/core/ble_ota_delta.c, the same states in the same order): the patch arrives in
/// chunks of any size, the base is read through <c>readBase</c> and the target leaves through <c>writeTarget</c>
/// strictly in order. A decoding step only runs with <see cref="StepInputMargin"/> body bytes at hand (or the whole
/// body), so no step is ever cut by the end of a chunk.
/// </summary>
public sealed class DeltaApplier
{
    /// <summary>Most body bytes one step can read: a number's 6 tree bits and 32 direct bits.</summary>
    public const int StepInputMargin = 40;

    private const int StageSize = 128;
    private const int BaseWindow = 256;
    private const int OutputChunk = 512;

    private enum Step
    {
        Header,
        Start,
        CopyLength,
        ZeroRun,
        Zeros,
        Add,
        InsertLength,
        Literal,
        EndOfBlock,
        Seek,
        Done,
    }

    private readonly uint _expectedTargetSize;
    private readonly uint _baseLimit;
    private readonly Func<uint, Memory<byte>, bool> _readBase;
    private readonly Func<ReadOnlyMemory<byte>, bool> _writeTarget;
    private readonly byte[] _header = new byte[DeltaFormat.HeaderLength];
    private readonly byte[] _stage = new byte[StageSize];
    private readonly byte[] _baseWindow = new byte[BaseWindow];
    private readonly byte[] _output = new byte[OutputChunk];
    private readonly RangeDecoder _rc = new();
    private readonly DeltaModel _model = new();
    private Step _step = Step.Header;
    private int _headerFill;
    private uint _bodySize;
    private long _bodyReceived;
    private uint _targetSize;
    private uint _produced;
    private uint _basePos;
    private uint _windowStart;
    private int _windowLength;
    private int _outputFill;
    private byte _previous;
    private uint _copyLeft;
    private uint _copyLength;
    private uint _zerosLeft;
    private uint _insertLeft;

    /// <param name="expectedTargetSize">The image size the REQUEST announced: the header must name it.</param>
    /// <param name="baseLimit">Bytes of the base that exist (the running image's length): the header's base size must not exceed it.</param>
    /// <param name="readBase">Reads base bytes at an offset into the buffer, filling it; false on a read failure.</param>
    /// <param name="writeTarget">Takes the next target bytes, in order; false on a write failure.</param>
    public DeltaApplier(uint expectedTargetSize, uint baseLimit, Func<uint, Memory<byte>, bool> readBase, Func<ReadOnlyMemory<byte>, bool> writeTarget)
    {
        _expectedTargetSize = expectedTargetSize;
        _baseLimit = baseLimit;
        _readBase = readBase;
        _writeTarget = writeTarget;
        _rc.Input = _stage;
    }

    /// <summary>The first failure; once set, every later call returns it.</summary>
    public DeltaApplyError Error { get; private set; }

    /// <summary>Target bytes handed to the writer so far.</summary>
    public long Written { get; private set; }

    /// <summary>Base bytes read so far (for charging flash reads).</summary>
    public long BaseBytesRead { get; private set; }

    /// <summary>Takes the next patch bytes and applies as much as they allow.</summary>
    public DeltaApplyError Feed(ReadOnlySpan<byte> patch)
    {
        while (Error == DeltaApplyError.None)
        {
            if (_step == Step.Header)
            {
                int take = Math.Min(patch.Length, DeltaFormat.HeaderLength - _headerFill);
                patch[..take].CopyTo(_header.AsSpan(_headerFill));
                _headerFill += take;
                patch = patch[take..];
                if (_headerFill < DeltaFormat.HeaderLength)
                {
                    return Error;
                }

                ReadHeader();
                continue;
            }

            if (_bodyReceived + patch.Length > _bodySize)
            {
                return Fail(DeltaApplyError.Corrupt); // bytes after the end of the body
            }

            // Top up the stage: compact what is left of it, then copy in as much as fits.
            int left = _rc.Limit - _rc.Position;
            Array.Copy(_stage, _rc.Position, _stage, 0, left);
            int add = Math.Min(patch.Length, StageSize - left);
            patch[..add].CopyTo(_stage.AsSpan(left));
            patch = patch[add..];
            _bodyReceived += add;
            _rc.Position = 0;
            _rc.Limit = left + add;

            Run();
            if (patch.IsEmpty)
            {
                return Error;
            }
        }

        return Error;
    }

    /// <summary>After the last patch byte: None only when the whole target was written and the whole body read.</summary>
    public DeltaApplyError Finish()
    {
        if (Error != DeltaApplyError.None)
        {
            return Error;
        }

        return _step == Step.Done ? DeltaApplyError.None : Fail(DeltaApplyError.Corrupt);
    }

    private void ReadHeader()
    {
        if (!DeltaFormat.TryReadHeader(_header, out uint baseSize, out _targetSize, out _bodySize)
            || _targetSize != _expectedTargetSize || baseSize > _baseLimit || _bodySize < DeltaFormat.CoderInitBytes)
        {
            Fail(DeltaApplyError.BadHeader);
            return;
        }

        _step = Step.Start;
    }

    /// <summary>Runs steps while the input at hand is enough for the next one.</summary>
    private void Run()
    {
        bool allIn = _bodyReceived == _bodySize;
        while (Error == DeltaApplyError.None && _step != Step.Done)
        {
            if (NeedsInput(_step) && !allIn && _rc.Limit - _rc.Position < StepInputMargin)
            {
                return;
            }

            RunStep();
            if (_rc.Overrun || !_rc.Consistent)
            {
                Fail(DeltaApplyError.Corrupt); // the body ended early, or its bytes cannot come from the encoder
            }
        }

        if (_step == Step.Done && Error == DeltaApplyError.None)
        {
            // A well-formed body is read to its last byte by the last step.
            if (_rc.Consumed != _bodySize)
            {
                Fail(DeltaApplyError.Corrupt);
                return;
            }

            Flush();
        }
    }

    private static bool NeedsInput(Step step) => step is not (Step.Zeros or Step.EndOfBlock or Step.Done);

    private void RunStep()
    {
        switch (_step)
        {
            case Step.Start:
                _rc.Start();
                _step = Step.CopyLength;
                break;
            case Step.CopyLength:
                if (Number(DeltaNumber.CopyLength) is not { } copy || copy > _targetSize - _produced || copy > _baseLimit - _basePos)
                {
                    Fail(DeltaApplyError.Corrupt);
                    return;
                }

                _copyLength = _copyLeft = copy;
                _step = copy > 0 ? Step.ZeroRun : Step.InsertLength;
                break;
            case Step.ZeroRun:
                if (Number(DeltaNumber.ZeroRun) is not { } run || run > _copyLeft)
                {
                    Fail(DeltaApplyError.Corrupt);
                    return;
                }

                _zerosLeft = run;
                _step = Step.Zeros;
                break;
            case Step.Zeros:
                while (_zerosLeft > 0 && Error == DeltaApplyError.None)
                {
                    Emit(BaseByte());
                    _zerosLeft--;
                    _copyLeft--;
                }

                _step = _copyLeft > 0 ? Step.Add : Step.InsertLength;
                break;
            case Step.Add:
                byte add = _model.DecodeAdd(_rc, _produced);
                if (add == 0)
                {
                    Fail(DeltaApplyError.Corrupt); // an add of 0 belongs in the run before it
                    return;
                }

                Emit((byte)(BaseByte() + add));
                _copyLeft--;
                _step = _copyLeft > 0 ? Step.ZeroRun : Step.InsertLength;
                break;
            case Step.InsertLength:
                if (Number(DeltaNumber.InsertLength) is not { } insert || insert > _targetSize - _produced || (insert == 0 && _copyLength == 0))
                {
                    Fail(DeltaApplyError.Corrupt); // too long, or a block that makes nothing
                    return;
                }

                _insertLeft = insert;
                _step = insert > 0 ? Step.Literal : Step.EndOfBlock;
                break;
            case Step.Literal:
                Emit(_model.DecodeLiteral(_rc, _previous));
                _step = --_insertLeft > 0 ? Step.Literal : Step.EndOfBlock;
                break;
            case Step.EndOfBlock:
                _step = _produced == _targetSize ? Step.Done : Step.Seek;
                break;
            case Step.Seek:
                if (Number(DeltaNumber.Seek) is not { } seek)
                {
                    Fail(DeltaApplyError.Corrupt);
                    return;
                }

                long to = _basePos + (long)DeltaModel.UnZigZag(seek);
                if (to < 0 || to > _baseLimit)
                {
                    Fail(DeltaApplyError.Corrupt);
                    return;
                }

                _basePos = (uint)to;
                _step = Step.CopyLength;
                break;
        }
    }

    private uint? Number(DeltaNumber kind) => _model.DecodeNumber(_rc, kind);

    /// <summary>The base byte at the current base offset, through a small read-ahead window; advances the offset.</summary>
    private byte BaseByte()
    {
        if (_basePos < _windowStart || _basePos >= _windowStart + (uint)_windowLength)
        {
            _windowStart = _basePos;
            _windowLength = (int)Math.Min((uint)BaseWindow, _baseLimit - _basePos);
            if (!_readBase(_windowStart, _baseWindow.AsMemory(0, _windowLength)))
            {
                Fail(DeltaApplyError.Io);
                return 0;
            }

            BaseBytesRead += _windowLength;
        }

        return _baseWindow[_basePos++ - _windowStart];
    }

    private void Emit(byte value)
    {
        _output[_outputFill++] = value;
        _previous = value;
        _produced++;
        if (_outputFill == OutputChunk)
        {
            Flush();
        }
    }

    private void Flush()
    {
        if (_outputFill > 0 && Error == DeltaApplyError.None)
        {
            if (!_writeTarget(_output.AsMemory(0, _outputFill)))
            {
                Fail(DeltaApplyError.Io);
            }

            Written += _outputFill;
            _outputFill = 0;
        }
    }

    private DeltaApplyError Fail(DeltaApplyError error)
    {
        if (Error == DeltaApplyError.None)
        {
            Error = error;
        }

        return Error;
    }
}
