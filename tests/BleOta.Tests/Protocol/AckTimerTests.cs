using BleOta.Engine.Protocol;

namespace BleOta.Tests.Protocol;

/// <summary>v2's acknowledgement wait: RFC 6298's retransmission timeout over the write timeout.</summary>
public sealed class AckTimerTests
{
    private static readonly TimeSpan Floor = TimeSpan.FromSeconds(5);

    [Fact]
    public void Before_any_measurement_it_waits_the_write_timeout()
    {
        Assert.Equal(Floor, new AckTimer(Floor).Timeout);
    }

    [Fact]
    public void A_fast_link_never_waits_less_than_the_write_timeout()
    {
        var timer = new AckTimer(Floor);
        for (int i = 0; i < 20; i++)
        {
            timer.Measured(TimeSpan.FromMilliseconds(30));
        }

        Assert.Equal(Floor, timer.Timeout);
    }

    [Fact]
    public void A_link_that_holds_packets_back_stretches_the_wait_to_its_round_trip_plus_four_variations()
    {
        var timer = new AckTimer(Floor);

        timer.Measured(TimeSpan.FromSeconds(4)); // first sample: smoothed 4 s, variation 2 s
        Assert.Equal(TimeSpan.FromSeconds(12), timer.Timeout);
        timer.Measured(TimeSpan.FromSeconds(8)); // variation 3/4*2 + 1/4*4 = 2.5 s, smoothed 7/8*4 + 1/8*8 = 4.5 s
        Assert.Equal(TimeSpan.FromSeconds(14.5), timer.Timeout);
    }

    [Fact]
    public void Each_expiry_doubles_the_wait_up_to_the_att_timeout_and_a_fresh_measurement_ends_the_backoff()
    {
        var timer = new AckTimer(Floor);

        timer.Expired();
        Assert.Equal(TimeSpan.FromSeconds(10), timer.Timeout);
        timer.Expired();
        timer.Expired();
        Assert.Equal(AckTimer.Ceiling, timer.Timeout);
        timer.Measured(TimeSpan.FromMilliseconds(100));
        Assert.Equal(Floor, timer.Timeout);
    }
}
