using System.Management.Automation;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>Renders a session snapshot as a Write-Progress record: "packet 123/977", bytes, speed, ETA.</summary>
internal static class ProgressFormatter
{
    public static ProgressRecord ForSession(OtaProgress snapshot, int activityId, string activity, int parentActivityId)
    {
        var record = new ProgressRecord(activityId, activity, Status(snapshot)) { ParentActivityId = parentActivityId };
        if (snapshot.State == OtaState.Transferring)
        {
            record.PercentComplete = snapshot.PercentComplete;
            if (snapshot.Eta is { } eta)
            {
                record.SecondsRemaining = (int)Math.Ceiling(eta.TotalSeconds);
            }
        }

        return record;
    }

    public static string Status(OtaProgress snapshot) => snapshot.State switch
    {
        OtaState.Transferring =>
            $"packet {snapshot.PacketsSent}/{snapshot.TotalPackets}, {snapshot.BytesSent / 1024.0:0.0} of {snapshot.TotalBytes / 1024.0:0.0} kB, {snapshot.KBytesPerSecond:0.0} kB/s",
        OtaState.Queued => "Waiting for a free slot (-ThrottleLimit)",
        OtaState.Connecting => "Connecting",
        OtaState.Negotiating => "Reading the device and negotiating the link",
        OtaState.Finishing => "Device is verifying the image",
        OtaState.Verifying => "Waiting for the device to restart and report its version (-Verify)",
        _ => snapshot.State.ToString(),
    };
}
