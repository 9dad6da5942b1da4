namespace BleOta.Tests.Transport;

public sealed class RadioAssembliesTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bleota-radios", Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void The_windows_radio_is_found_in_the_module_beside_the_build_output()
    {
        string module = Folder("out/BleOta");
        string radio = File("out/BleOta.WinRT/BleOta.Transport.WinRT.dll");

        Assert.Equal(radio, RadioAssemblies.Find(RadioTransport.WinRT, module, null));
    }

    [Fact]
    public void The_newest_installed_version_beside_the_installed_module_is_found()
    {
        string module = Folder("Modules/BleOta/0.1.0");
        File("Modules/BleOta.WinRT/0.0.9/BleOta.Transport.WinRT.dll");
        string newest = File("Modules/BleOta.WinRT/0.1.0/BleOta.Transport.WinRT.dll");

        Assert.Equal(newest, RadioAssemblies.Find(RadioTransport.WinRT, module, null));
    }

    [Fact]
    public void A_module_on_PSModulePath_is_found_when_none_is_beside()
    {
        string module = Folder("dev/BleOta");
        string radio = File("shared/BleOta.WinRT/0.2.0/BleOta.Transport.WinRT.dll");
        string psModulePath = string.Join(Path.PathSeparator, Path.Combine(_root, "nowhere"), Path.Combine(_root, "shared"));

        Assert.Equal(radio, RadioAssemblies.Find(RadioTransport.WinRT, module, psModulePath));
    }

    [Fact]
    public void The_linux_radio_is_beside_the_cmdlets_and_a_missing_radio_is_null()
    {
        string module = Folder("out/BleOta");
        string blueZ = File("out/BleOta/BleOta.Transport.BlueZ.dll");

        Assert.Equal(blueZ, RadioAssemblies.Find(RadioTransport.BlueZ, module, null));
        Assert.Null(RadioAssemblies.Find(RadioTransport.WinRT, module, Path.Combine(_root, "nowhere")));
    }

    private string Folder(string relative) => Directory.CreateDirectory(Path.Combine(_root, relative)).FullName;

    private string File(string relative)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, []);
        return path;
    }
}
