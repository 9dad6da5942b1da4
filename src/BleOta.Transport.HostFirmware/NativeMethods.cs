using System.Reflection;
using System.Runtime.InteropServices;

namespace BleOta.Transport.HostFirmware;

/// <summary>
/// P/Invoke declarations for the flat C ABI in firmware/test/host/include/ble_ota_host.h (ABI version 6).
/// All calls on one device handle must be serialised by the caller (see <see cref="HostFirmwareDevice"/>).
/// </summary>
internal static class NativeMethods
{
    internal const string Library = "ble_ota_host";
    internal const int AbiVersion = 6;

    internal const int CharControl = 0;
    internal const int CharData = 1;
    internal const int CharInfo = 2;

    internal const int ENotRunning = -4;
    internal const int ETooSmall = -5;

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_abi_version();

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern IntPtr bo_host_create(uint partitionSize);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern void bo_host_destroy(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_connect(IntPtr h, ushort mtu);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_mtu(IntPtr h, int conn, ushort mtu);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_disconnect(IntPtr h, int conn);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_is_connected(IntPtr h, int conn);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_write(IntPtr h, int conn, int whichChar, byte[] data, uint len);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_read(IntPtr h, int conn, int whichChar, byte[] output, uint cap);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_subscribe(IntPtr h, int conn, int enable);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_take_notification(IntPtr h, out int conn, byte[] output, uint cap);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_state(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_last_error(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_bytes_received(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_restart_pending(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_restart_delay_ms(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_reboot(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_running_slot(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_boot_slot(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_slot_state(IntPtr h, int slot);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_slot_image_valid(IntPtr h, int slot);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_read_running_image(IntPtr h, byte[] output, uint cap);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_running_version(IntPtr h, byte[] output, uint cap);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_install_image(IntPtr h, int slot, byte[] data, uint len);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_max_packet_size(IntPtr h, ushort size);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_chip_id(IntPtr h, ushort chipId);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_self_test_result(IntPtr h, int pass);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_fail_write_at(IntPtr h, long offset);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_fail_erase_at(IntPtr h, long offset);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_fail_set_boot(IntPtr h, int fail);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_fail_begin(IntPtr h, int fail);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_nor_violations(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_window(IntPtr h, ushort window);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_compression(IntPtr h, int enable);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_stream_offset(IntPtr h);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_ring_size(IntPtr h, uint bytes);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_writer_paused(IntPtr h, int paused);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_require_encryption(IntPtr h, int require);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    internal static extern int bo_host_set_encrypted(IntPtr h, int conn, int encrypted);
}

/// <summary>
/// Finds libble_ota_host: <c>BLEOTA_HOST_FIRMWARE_LIB</c> (a file path) first, then
/// <c>&lt;repo&gt;/out/firmware/host/</c> in any parent of the application or of this assembly,
/// then the platform's normal search.
/// </summary>
public static class HostFirmwareLibrary
{
    /// <summary>Environment variable naming the library file to load.</summary>
    public const string EnvironmentVariable = "BLEOTA_HOST_FIRMWARE_LIB";

    private static readonly object Gate = new();
    private static bool _resolverSet;
    private static string? _loadedFrom;

    /// <summary>File name of the library on this OS (only Linux builds it today).</summary>
    public static string FileName =>
        OperatingSystem.IsWindows() ? "ble_ota_host.dll" : OperatingSystem.IsMacOS() ? "libble_ota_host.dylib" : "libble_ota_host.so";

    /// <summary>Where the library was loaded from, once it has been.</summary>
    public static string? LoadedFrom => _loadedFrom;

    /// <summary>
    /// Loads the library and checks its ABI version. Returns false, with a reason that says how to build it,
    /// when it is missing or does not match: tests use this to skip rather than fail.
    /// </summary>
    public static bool TryLoad(out string? reason)
    {
        EnsureResolver();
        try
        {
            int abi = NativeMethods.bo_host_abi_version();
            if (abi != NativeMethods.AbiVersion)
            {
                reason = $"{FileName} has ABI version {abi}, this transport needs {NativeMethods.AbiVersion}. Rebuild it with firmware/test/run.sh.";
                return false;
            }

            reason = null;
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            reason = $"{FileName} not found ({ex.Message}). Build it with firmware/test/run.sh (it lands in out/firmware/host/) or set {EnvironmentVariable}.";
            return false;
        }
    }

    internal static void EnsureResolver()
    {
        lock (Gate)
        {
            if (_resolverSet)
            {
                return;
            }

            NativeLibrary.SetDllImportResolver(typeof(HostFirmwareLibrary).Assembly, Resolve);
            _resolverSet = true;
        }
    }

    /// <summary>Candidate paths, best first.</summary>
    public static IEnumerable<string> CandidatePaths()
    {
        string? fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            yield return fromEnv;
        }

        var starts = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(HostFirmwareLibrary).Assembly.Location), Environment.CurrentDirectory };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string? start in starts)
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "out", "firmware", "host", FileName);
                if (seen.Add(candidate))
                {
                    yield return candidate;
                }
            }
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.Library)
        {
            return IntPtr.Zero;
        }

        foreach (string path in CandidatePaths())
        {
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out IntPtr handle))
            {
                _loadedFrom = path;
                return handle;
            }
        }

        return IntPtr.Zero; // fall back to the default search (LD_LIBRARY_PATH, ...)
    }
}
