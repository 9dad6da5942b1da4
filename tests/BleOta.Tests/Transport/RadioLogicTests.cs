using BleOta.Engine.Transport;
using Microsoft.Extensions.Time.Testing;

namespace BleOta.Tests.Transport;

/// <summary>The radio-independent logic the WinRT and BlueZ transports use: MTU wait, write window, retries.</summary>
public sealed class RadioLogicTests
{
    private sealed class Event
    {
        public Action? Handler;

        public IDisposable Subscribe(Action handler)
        {
            Handler = handler;
            return new Detach(this);
        }

        private sealed class Detach(Event owner) : IDisposable
        {
            public void Dispose() => owner.Handler = null;
        }
    }

    [Fact]
    public async Task The_mtu_wait_returns_the_value_the_os_reports_in_its_change_event()
    {
        int mtu = 23;
        var changed = new Event();
        var clock = new FakeTimeProvider();

        var waiting = MtuWaiter.WaitAsync(() => mtu, changed.Subscribe, TimeSpan.FromSeconds(2), clock, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        mtu = 247;
        changed.Handler!();

        Assert.Equal(247, await waiting);
        Assert.Null(changed.Handler); // detached again
    }

    [Fact]
    public async Task The_mtu_wait_keeps_23_when_the_peer_never_negotiates_and_the_settle_time_passes()
    {
        var changed = new Event();
        var clock = new FakeTimeProvider();

        var waiting = MtuWaiter.WaitAsync(() => 23, changed.Subscribe, TimeSpan.FromSeconds(2), clock, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(23, await waiting);
    }

    [Fact]
    public async Task The_mtu_wait_does_not_wait_when_the_os_already_negotiated()
    {
        var waiting = MtuWaiter.WaitAsync(() => 517, new Event().Subscribe, TimeSpan.FromHours(1), new FakeTimeProvider(), CancellationToken.None);

        Assert.True(waiting.IsCompleted);
        Assert.Equal(517, await waiting);
    }

    [Fact]
    public async Task The_write_window_holds_the_write_beyond_its_size_until_one_completes()
    {
        using var window = new WriteWindow(2);
        await window.EnterAsync(CancellationToken.None);
        await window.EnterAsync(CancellationToken.None);

        var third = window.EnterAsync(CancellationToken.None);
        Assert.False(third.IsCompleted);
        Assert.Equal(2, window.InFlight);
        window.Leave();

        await third;
        Assert.Equal(2, window.InFlight);
    }

    [Fact]
    public async Task The_write_window_reports_a_failed_write_on_the_next_one()
    {
        using var window = new WriteWindow(4);
        await window.EnterAsync(CancellationToken.None);
        window.Leave(new InvalidOperationException("link lost"));

        var error = await Assert.ThrowsAsync<BleTransportException>(() => window.EnterAsync(CancellationToken.None));

        Assert.Contains("link lost", error.Message);
    }

    [Fact]
    public async Task Draining_the_window_waits_for_every_write_in_flight()
    {
        using var window = new WriteWindow(3);
        await window.EnterAsync(CancellationToken.None);
        await window.EnterAsync(CancellationToken.None);

        var drained = window.DrainAsync(CancellationToken.None);
        window.Leave();
        Assert.False(drained.IsCompleted);
        window.Leave();

        await drained;
        Assert.Equal(0, window.InFlight);
    }

    [Fact]
    public async Task The_retry_policy_retries_a_transient_failure_and_returns_the_later_success()
    {
        var attempts = new List<int>();
        var policy = new RetryPolicy(3, TimeSpan.Zero, TimeSpan.Zero); // the pauses themselves are the theory below

        string result = await policy.RunAsync((attempt, _) =>
        {
            attempts.Add(attempt);
            return attempt < 3 ? Task.FromException<string>(new TimeoutException("aborted")) : Task.FromResult("connected");
        }, ex => ex is TimeoutException, TimeProvider.System, CancellationToken.None);

        Assert.Equal("connected", result);
        Assert.Equal([1, 2, 3], attempts);
    }

    [Fact]
    public async Task The_retry_policy_gives_up_after_its_attempts_with_the_last_error()
    {
        int attempts = 0;
        var policy = new RetryPolicy(2, TimeSpan.Zero, TimeSpan.Zero);

        var error = await Assert.ThrowsAsync<TimeoutException>(() => policy.RunAsync<int>((attempt, _) =>
        {
            attempts++;
            throw new TimeoutException($"attempt {attempt}");
        }, _ => true, TimeProvider.System, CancellationToken.None));

        Assert.Equal(("attempt 2", 2), (error.Message, attempts));
    }

    [Fact]
    public async Task The_retry_policy_does_not_retry_what_is_not_transient()
    {
        int attempts = 0;
        var policy = new RetryPolicy(5, TimeSpan.Zero, TimeSpan.Zero);

        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => policy.RunAsync<int>((_, _) =>
        {
            attempts++;
            throw new UnauthorizedAccessException();
        }, ex => ex is TimeoutException, TimeProvider.System, CancellationToken.None));

        Assert.Equal(1, attempts);
    }

    [Theory]
    [InlineData(1, 250)]
    [InlineData(2, 500)]
    [InlineData(3, 1000)]
    [InlineData(5, 2000)]
    public void Retry_pauses_double_up_to_the_maximum(int attempt, int milliseconds)
    {
        var policy = new RetryPolicy(6, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2));

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), policy.DelayAfter(attempt));
    }
}
