namespace BleOta;

/// <summary>Which radio a cmdlet uses: Auto picks by platform (WinRT on Windows, BlueZ on Linux).</summary>
public enum RadioTransport
{
    Auto,
    BlueZ,
    WinRT,
}
