using System.Buffers.Binary;
using System.Text;
using BleOta.Engine.Image;

namespace BleOta.Bench;

/// <summary>
/// A model of an ESP-IDF app as the compiler and linker lay it out, so that two builds of it differ the way two
/// real builds do. Functions belong to modules (compile units; the first ones are "ESP-IDF", the rest the app),
/// each with a literal pool placed right before its code (Xtensa's <c>.literal</c> beside <c>.text</c>), and a
/// body of instructions: plain ones drawn from a Zipf-distributed vocabulary of 2- and 3-byte encodings, and the
/// ones whose bytes depend on where things are: <c>CALL8</c> (PC-relative, 18-bit word offset), <c>L32R</c>
/// (PC-relative load from the function's literal pool), branches (PC-relative, 12-bit) and literals holding
/// absolute addresses of functions and strings. Strings and pointer tables live in rodata in module order.
/// <see cref="Link"/> lays everything out (4-byte function alignment, as GCC emits for Xtensa) and encodes every
/// address, so a change in one place moves everything after it and rewrites every reference that crosses it,
/// as a relink does. The instruction formats are those of the Xtensa ISA reference manual (CALL, RI16, BRI12).
/// </summary>
internal sealed class RealisticApp
{
    private const uint TextBase = 0x400D0020;
    private const uint RodataBase = 0x3F400020;
    private const uint IramBase = 0x40080000;
    private const int AppDescriptionBytes = 256;
    private const int FunctionsPerModule = 12;

    private readonly Random _random;
    private readonly byte[][] _vocabulary;
    private readonly List<Module> _modules = [];
    private readonly List<Function> _functions = [];
    private int _nextString;
    private int _plannedFunctions = 1;

    private RealisticApp(int seed)
    {
        _random = new Random(seed);
        _vocabulary = new byte[512][];
        for (int i = 0; i < _vocabulary.Length; i++)
        {
            _vocabulary[i] = new byte[_random.Next(4) == 0 ? 2 : 3];
            _random.NextBytes(_vocabulary[i]);
            _vocabulary[i][0] = (byte)((_vocabulary[i][0] & 0xF0) | 0x02); // op0 of a plain ALU/load encoding, never CALL/L32R/branch
        }
    }

    public string Version { get; private set; } = "1.0.0";

    public string IdfVersion { get; private set; } = "v5.3.1";

    /// <summary>An app whose image is about <paramref name="size"/> bytes; the first 60 % of its code is "ESP-IDF".</summary>
    public static RealisticApp Create(int size, int seed = 42)
    {
        var app = new RealisticApp(seed);
        int modules = Math.Max(8, size / 16_000);
        app._plannedFunctions = modules * FunctionsPerModule;
        for (int m = 0; m < modules; m++)
        {
            // About 72 % code and 24 % strings and tables, as in an ESP-IDF app's flash text and rodata.
            var module = app.AddModule(isIdf: m < modules * 6 / 10, functions: FunctionsPerModule, codeBytes: size * 72 / 100 / modules, stringBytes: size * 24 / 100 / modules);
            module.IsPrebuilt = module.IsIdf && m % 8 == 3;
        }

        return app;
    }

    /// <summary>A deep copy, to change into the next build.</summary>
    public RealisticApp Clone(int seed)
    {
        var copy = new RealisticApp(seed) { Version = Version, IdfVersion = IdfVersion, _nextString = _nextString, _plannedFunctions = _plannedFunctions };
        Array.Copy(_vocabulary, copy._vocabulary, _vocabulary.Length);
        foreach (var module in _modules)
        {
            var m = new Module(module.IsIdf) { IsPrebuilt = module.IsPrebuilt, Strings = [.. module.Strings], Table = [.. module.Table] };
            foreach (var f in module.Functions)
            {
                var g = new Function(f.Id, m, f.InIram) { Literals = [.. f.Literals], Body = [.. f.Body] };
                m.Functions.Add(g);
                copy._functions.Add(g);
            }

            copy._modules.Add(m);
        }

        return copy;
    }

    /// <summary>A one-line change: a new log line in one app function (a string, a literal and three instructions).</summary>
    public RealisticApp WithOneLineChange(string version)
    {
        var next = Clone(_random.Next());
        next.Version = version;
        var appFunctions = next._functions.Where(f => !f.Module.IsIdf && !f.InIram).ToList();
        next.AddLogLine(appFunctions[appFunctions.Count / 2]);
        return next;
    }

    /// <summary>A new feature: a new module of app code, called from a few existing functions.</summary>
    public RealisticApp WithNewFeature(string version)
    {
        var next = Clone(_random.Next());
        next.Version = version;
        var module = next.AddModule(isIdf: false, functions: 10, codeBytes: 8_000, stringBytes: 2_000);
        var callers = next._functions.Where(f => !f.Module.IsIdf && f.Module != module).ToList();
        for (int i = 0; i < 4; i++)
        {
            var caller = callers[next._random.Next(callers.Count)];
            caller.Body.Insert(next._random.Next(1, caller.Body.Count), Insn.Call(module.Functions[i % module.Functions.Count].Id));
        }

        return next;
    }

    /// <summary>
    /// A newer ESP-IDF patch release: a quarter of its functions edited, a few new ones, and its prebuilt libraries
    /// (about 7 % of the app, as the BLE controller's and PHY's archives ESP-IDF links in) replaced entirely.
    /// </summary>
    public RealisticApp WithIdfUpdate(string version, string idfVersion)
    {
        var next = Clone(_random.Next());
        next.Version = version;
        next.IdfVersion = idfVersion;
        var idf = next._functions.Where(f => f.Module.IsIdf).ToList();
        foreach (var function in idf)
        {
            if (function.Module.IsPrebuilt)
            {
                next.Rebuild(function);
            }
            else if (next._random.Next(4) == 0)
            {
                next.Edit(function);
            }
        }

        foreach (var module in next._modules.Where(m => m.IsIdf && next._random.Next(3) == 0))
        {
            module.Functions.Insert(next._random.Next(module.Functions.Count + 1), next.NewFunction(module, 600));
        }

        return next;
    }

    /// <summary>Lays the app out and encodes it into an ESP app image.</summary>
    public byte[] Link(string project = "bench-app")
    {
        var iram = _functions.Where(f => f.InIram).ToList();
        var text = _modules.SelectMany(m => m.Functions).Where(f => !f.InIram).ToList();

        // Addresses first: strings and tables in rodata, functions in IRAM and flash text.
        var stringAddress = new Dictionary<int, uint>();
        uint at = RodataBase + AppDescriptionBytes;
        foreach (var module in _modules)
        {
            foreach (var (id, bytes) in module.Strings)
            {
                stringAddress[id] = at;
                at += (uint)(bytes.Length + 3) & ~3u;
            }

            at += (uint)module.Table.Count * 4;
        }

        uint rodataEnd = at;
        var functionAddress = new Dictionary<int, uint>();
        var codeAddress = new Dictionary<int, uint>();
        uint textEnd = Place(text, TextBase, functionAddress, codeAddress);
        uint iramEnd = Place(iram, IramBase, functionAddress, codeAddress);

        var rodata = new byte[rodataEnd - RodataBase];
        at = RodataBase + AppDescriptionBytes;
        foreach (var module in _modules)
        {
            foreach (var (_, bytes) in module.Strings)
            {
                bytes.CopyTo(rodata, at - RodataBase);
                at += (uint)(bytes.Length + 3) & ~3u;
            }

            foreach (var entry in module.Table)
            {
                uint value = entry.IsFunction ? functionAddress.GetValueOrDefault(entry.Id) : stringAddress.GetValueOrDefault(entry.Id);
                BinaryPrimitives.WriteUInt32LittleEndian(rodata.AsSpan((int)(at - RodataBase)), value);
                at += 4;
            }
        }

        var textBytes = new byte[textEnd - TextBase];
        var iramBytes = new byte[iramEnd - IramBase];
        foreach (var f in _functions)
        {
            var (segment, segmentBase) = f.InIram ? (iramBytes, IramBase) : (textBytes, TextBase);
            Encode(f, segment, segmentBase, functionAddress, codeAddress, stringAddress);
        }

        var dram = new byte[8 * 1024]; // initialised data: counters and a few pointers
        var dataRandom = new Random(7);
        for (int i = 0; i < dram.Length; i += 4)
        {
            uint value = dataRandom.Next(4) == 0 && text.Count > 0 ? functionAddress[text[dataRandom.Next(text.Count)].Id] : (uint)dataRandom.Next(64);
            BinaryPrimitives.WriteUInt32LittleEndian(dram.AsSpan(i), value);
        }

        return new EspAppImageBuilder
        {
            ProjectName = project,
            Version = Version,
            IdfVersion = IdfVersion,
            CompileTime = $"{Version.Sum(c => c) % 24:00}:00:00", // a later build, a later time
            Segments = [rodata, dram, iramBytes, textBytes],
        }.Build();
    }

    private static uint Place(List<Function> functions, uint start, Dictionary<int, uint> functionAddress, Dictionary<int, uint> codeAddress)
    {
        uint at = start;
        foreach (var f in functions)
        {
            at = (at + 3) & ~3u;
            functionAddress[f.Id] = at + (uint)f.Literals.Count * 4; // the entry point follows the literal pool
            codeAddress[f.Id] = at;
            at += (uint)f.Literals.Count * 4 + (uint)f.Body.Sum(i => i.Length);
        }

        return (at + 3) & ~3u;
    }

    private static void Encode(Function f, byte[] segment, uint segmentBase, Dictionary<int, uint> functionAddress,
        Dictionary<int, uint> codeAddress, Dictionary<int, uint> stringAddress)
    {
        uint pool = codeAddress[f.Id];
        int offset = (int)(pool - segmentBase);
        foreach (var literal in f.Literals)
        {
            uint value = literal.Kind switch
            {
                LiteralKind.Function => functionAddress.GetValueOrDefault(literal.Value),
                LiteralKind.String => stringAddress.GetValueOrDefault(literal.Value),
                _ => (uint)literal.Value,
            };
            BinaryPrimitives.WriteUInt32LittleEndian(segment.AsSpan(offset), value);
            offset += 4;
        }

        // Instruction addresses, so branches can find their targets.
        var starts = new uint[f.Body.Count + 1];
        starts[0] = functionAddress[f.Id];
        for (int i = 0; i < f.Body.Count; i++)
        {
            starts[i + 1] = starts[i] + (uint)f.Body[i].Length;
        }

        for (int i = 0; i < f.Body.Count; i++)
        {
            var insn = f.Body[i];
            uint pc = starts[i];
            var bytes = segment.AsSpan((int)(pc - segmentBase), insn.Length);
            switch (insn.Kind)
            {
                case InsnKind.Call:
                    // CALL8: op0 5, n 2, 18-bit signed word offset; target = (pc & ~3) + (offset << 2) + 4.
                    int words = (int)((long)functionAddress.GetValueOrDefault(insn.Value) - ((pc & ~3u) + 4)) >> 2;
                    Write24(bytes, 0x05u | (2u << 4) | (((uint)words & 0x3FFFF) << 6));
                    break;
                case InsnKind.L32R:
                    // L32R: op0 1, register t, 16-bit offset in words back from (pc + 3) & ~3 to its literal.
                    uint literal = pool + (uint)Math.Min(insn.Value, Math.Max(0, f.Literals.Count - 1)) * 4;
                    int back = (int)((long)literal - ((pc + 3) & ~3u)) >> 2;
                    Write24(bytes, 0x01u | ((uint)(insn.Register & 0xF) << 4) | (((uint)back & 0xFFFF) << 8));
                    break;
                case InsnKind.Branch:
                    // BNEZ: op0 6, n 1, m 1, register s, 12-bit signed offset; target = pc + 4 + offset.
                    int targetIndex = Math.Min(insn.Value, f.Body.Count);
                    int delta = (int)((long)starts[targetIndex] - (pc + 4));
                    Write24(bytes, 0x06u | (1u << 4) | (1u << 6) | ((uint)(insn.Register & 0xF) << 8) | (((uint)delta & 0xFFF) << 12));
                    break;
                default:
                    insn.Bytes!.CopyTo(bytes);
                    break;
            }
        }
    }

    private static void Write24(Span<byte> bytes, uint value)
    {
        bytes[0] = (byte)value;
        bytes[1] = (byte)(value >> 8);
        bytes[2] = (byte)(value >> 16);
    }

    private Module AddModule(bool isIdf, int functions, int codeBytes, int stringBytes)
    {
        var module = new Module(isIdf);
        _modules.Add(module);
        for (int bytes = 0; bytes < stringBytes;)
        {
            var text = LogString();
            module.Strings.Add((_nextString++, text));
            bytes += text.Length;
        }

        for (int i = 0; i < functions; i++)
        {
            module.Functions.Add(NewFunction(module, codeBytes / functions));
        }

        for (int i = 0; i < _random.Next(4, 24); i++)
        {
            module.Table.Add(_random.Next(2) == 0
                ? new TableEntry(true, module.Functions[_random.Next(module.Functions.Count)].Id)
                : new TableEntry(false, module.Strings[_random.Next(module.Strings.Count)].Id));
        }

        return module;
    }

    private Function NewFunction(Module module, int meanBytes)
    {
        var f = new Function(_functions.Count, module, inIram: module.IsIdf && _random.Next(12) == 0);
        _functions.Add(f);
        int bytes = (int)(meanBytes * Math.Exp(_random.NextDouble() * 2 - 1) / 1.18);
        for (int i = 0; i < 2 + _random.Next(10); i++)
        {
            f.Literals.Add(NewLiteral(module));
        }

        f.Body.Add(Insn.Plain([0x36, 0x41, 0x00])); // ENTRY a1, 32
        int length = 3;
        while (length < bytes)
        {
            var insn = NewInsn(f);
            f.Body.Add(insn);
            length += insn.Length;
        }

        f.Body.Add(Insn.Plain([0x1D, 0xF0])); // RETW.N
        return f;
    }

    private Literal NewLiteral(Module module) => _random.Next(10) switch
    {
        < 4 => new Literal(LiteralKind.String, module.Strings[_random.Next(module.Strings.Count)].Id),
        < 7 => new Literal(LiteralKind.Function, CallTarget()),
        _ => new Literal(LiteralKind.Constant, _random.Next(3) == 0 ? _random.Next() : _random.Next(4096)),
    };

    private Insn NewInsn(Function f) => _random.Next(100) switch
    {
        < 7 => Insn.Call(CallTarget()),
        < 15 => Insn.L32R(_random.Next(f.Literals.Count), _random.Next(16)),
        < 25 => Insn.Branch(f.Body.Count + _random.Next(1, 12), _random.Next(16)),
        _ => Insn.Plain(PlainBytes()),
    };

    /// <summary>
    /// Callees anywhere in the app, before or after the caller; a few popular ones (logging, memcpy, locks) take
    /// most calls, as in real apps.
    /// </summary>
    private int CallTarget() => RealisticImage.Zipf(_random, Math.Min(_plannedFunctions, 2000)) * 7919 % _plannedFunctions;

    private byte[] PlainBytes()
    {
        var word = (byte[])_vocabulary[RealisticImage.Zipf(_random, _vocabulary.Length)].Clone();
        if (_random.Next(3) == 0)
        {
            word[^1] = (byte)_random.Next(256); // register and immediate fields vary around the opcode
        }

        return word;
    }

    private byte[] LogString()
    {
        var text = new StringBuilder();
        for (int n = _random.Next(2, 8); n > 0; n--)
        {
            text.Append(RealisticImage.Words[RealisticImage.Zipf(_random, RealisticImage.Words.Length)]).Append(_random.Next(5) == 0 ? ": %d " : " ");
        }

        return Encoding.ASCII.GetBytes(text.Append('\n').Append('\0').ToString());
    }

    private void AddLogLine(Function f)
    {
        int id = _nextString++;
        var strings = f.Module.Strings;
        strings.Insert(_random.Next(strings.Count + 1), (id, LogString()));
        f.Literals.Add(new Literal(LiteralKind.String, id));
        int at = _random.Next(1, f.Body.Count);
        f.Body.InsertRange(at, [Insn.L32R(f.Literals.Count - 1, 10), Insn.Plain([0x0C, 0x0B]), Insn.Call(CallTarget())]);
        FixBranches(f, at, 3);
        Reallocate(f);
    }

    /// <summary>
    /// The compiler's register allocation of a changed function rarely stays as it was: registers change in about
    /// a third of its instructions.
    /// </summary>
    private void Reallocate(Function f)
    {
        for (int i = 0; i < f.Body.Count; i++)
        {
            if (f.Body[i].Kind == InsnKind.Plain && f.Body[i].Length == 3 && _random.Next(3) == 0)
            {
                var bytes = (byte[])f.Body[i].Bytes!.Clone();
                bytes[1] = (byte)((bytes[1] & 0x0F) | (_random.Next(16) << 4));
                f.Body[i] = Insn.Plain(bytes);
            }
        }
    }

    /// <summary>A release's edits to one function: a few instructions replaced, added or removed.</summary>
    private void Edit(Function f)
    {
        for (int edits = _random.Next(1, 4); edits > 0 && f.Body.Count > 3; edits--)
        {
            int at = _random.Next(1, f.Body.Count - 1);
            switch (_random.Next(3))
            {
                case 0:
                    f.Body[at] = NewInsn(f);
                    break;
                case 1:
                    int n = _random.Next(1, 6);
                    for (int i = 0; i < n; i++)
                    {
                        f.Body.Insert(at, NewInsn(f));
                    }

                    FixBranches(f, at, n);
                    break;
                default:
                    f.Body.RemoveAt(at);
                    FixBranches(f, at, -1);
                    break;
            }
        }

        Reallocate(f);
    }

    /// <summary>A function of a new prebuilt library: new code of about the same size.</summary>
    private void Rebuild(Function f)
    {
        int bytes = f.Body.Sum(i => i.Length);
        f.Body.Clear();
        f.Literals.Clear();
        f.Literals.Add(NewLiteral(f.Module));
        f.Body.Add(Insn.Plain([0x36, 0x41, 0x00]));
        for (int length = 3; length < bytes;)
        {
            var insn = NewInsn(f);
            f.Body.Add(insn);
            length += insn.Length;
        }

        f.Body.Add(Insn.Plain([0x1D, 0xF0]));
    }

    /// <summary>Branches to instructions at or after <paramref name="at"/> keep their targets when instructions move.</summary>
    private static void FixBranches(Function f, int at, int moved)
    {
        for (int i = 0; i < f.Body.Count; i++)
        {
            if (f.Body[i].Kind == InsnKind.Branch && f.Body[i].Value >= at)
            {
                f.Body[i] = f.Body[i] with { Value = Math.Max(at, f.Body[i].Value + moved) };
            }
        }
    }

    private sealed class Module(bool isIdf)
    {
        public bool IsIdf { get; } = isIdf;

        /// <summary>Linked from a prebuilt archive (an ESP-IDF binary library): a new release replaces all of it.</summary>
        public bool IsPrebuilt { get; set; }

        public List<(int Id, byte[] Bytes)> Strings { get; init; } = [];

        public List<TableEntry> Table { get; init; } = [];

        public List<Function> Functions { get; } = [];
    }

    private sealed class Function(int id, Module module, bool inIram)
    {
        public int Id { get; } = id;

        public Module Module { get; } = module;

        public bool InIram { get; } = inIram;

        public List<Literal> Literals { get; init; } = [];

        public List<Insn> Body { get; init; } = [];
    }

    private readonly record struct TableEntry(bool IsFunction, int Id);

    private enum LiteralKind
    {
        Function,
        String,
        Constant,
    }

    private readonly record struct Literal(LiteralKind Kind, int Value);

    private enum InsnKind
    {
        Plain,
        Call,
        L32R,
        Branch,
    }

    private readonly record struct Insn(InsnKind Kind, int Value, int Register, byte[]? Bytes)
    {
        public int Length => Kind == InsnKind.Plain ? Bytes!.Length : 3;

        public static Insn Plain(byte[] bytes) => new(InsnKind.Plain, 0, 0, bytes);

        public static Insn Call(int function) => new(InsnKind.Call, function, 0, null);

        public static Insn L32R(int literal, int register) => new(InsnKind.L32R, literal, register, null);

        public static Insn Branch(int target, int register) => new(InsnKind.Branch, target, register, null);
    }
}
