namespace BleOta.Engine.Transport;

/// <summary>One Bluetooth adapter of this computer, as the stack lists it (BlueZ: hci0, hci1, ... in bluetoothctl list).</summary>
public sealed record BleAdapter(string Name, string Address, bool Powered)
{
    public override string ToString() => $"{Name} ({Address}{(Powered ? "" : ", powered off")})";

    /// <summary>What to say when <paramref name="name"/> is none of <paramref name="present"/>.</summary>
    public static string NotFoundMessage(string name, IReadOnlyList<BleAdapter> present) =>
        present.Count == 0
            ? $"There is no Bluetooth adapter {name}: BlueZ lists none. Plug one in (Bluetooth 4.0 or later) and check 'bluetoothctl list'."
            : $"There is no Bluetooth adapter {name}. BlueZ lists {string.Join(", ", present)} ('bluetoothctl list' shows them too): give one of those, or leave -Adapter out to use the first.";
}

/// <summary>A radio that can say which adapters this computer has, each reached through a transport of its own (BlueZ).</summary>
public interface IBleAdapterList
{
    Task<IReadOnlyList<BleAdapter>> AdaptersAsync(CancellationToken cancellationToken);
}
