using System.Threading.RateLimiting;
using ChitChat.AspNetCore.Hosting;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.RateLimiting;

namespace ChitChat.AspNetCore.Tests;

/// <summary>The ASP.NET Core <see cref="RateLimiter"/> partition that asks <see cref="IChatRateLimiter"/>.</summary>
public sealed class ChatRateLimiterAdapterTests
{
    private static readonly RateLimitPolicy Policy = new("auth", 2, TimeSpan.FromMinutes(1));

    [Fact]
    public async Task AttemptAcquire_never_grants_so_the_middleware_asks_AcquireAsync_which_counts_in_the_chat_limiter()
    {
        var time = new ManualTime();
        var chat = new InMemoryChatRateLimiter(time);
        using var adapter = new ChatRateLimiterAdapter(chat, Policy, "10.0.0.1", time);

        using (var attempt = adapter.AttemptAcquire())
        {
            Assert.False(attempt.IsAcquired);
            Assert.False(attempt.TryGetMetadata(MetadataName.RetryAfter, out _));
        }

        using (var first = await adapter.AcquireAsync().AsTask().WaitAsync(Timeouts.Default))
        using (var second = await adapter.AcquireAsync().AsTask().WaitAsync(Timeouts.Default))
        {
            Assert.True(first.IsAcquired);
            Assert.True(second.IsAcquired);
        }

        time.Advance(TimeSpan.FromSeconds(15));
        using var refused = await adapter.AcquireAsync().AsTask().WaitAsync(Timeouts.Default);
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(45), retryAfter);
        Assert.Equal([MetadataName.RetryAfter.Name], refused.MetadataNames);

        // The count lives in the chat limiter: another partition object for the same key shares it.
        using var again = new ChatRateLimiterAdapter(chat, Policy, "10.0.0.1", time);
        using var alsoRefused = await again.AcquireAsync().AsTask().WaitAsync(Timeouts.Default);
        Assert.False(alsoRefused.IsAcquired);
    }

    [Fact]
    public async Task IdleDuration_is_null_while_acquiring_and_counts_from_the_last_use()
    {
        var time = new ManualTime();
        var gated = new GatedLimiter();
        using var adapter = new ChatRateLimiterAdapter(gated, Policy, "10.0.0.2", time);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(5), adapter.IdleDuration);

        var pending = adapter.AcquireAsync().AsTask();
        Assert.Null(adapter.IdleDuration);
        time.Advance(TimeSpan.FromSeconds(3));
        gated.Release(RateLimitDecision.Allowed);
        using (var lease = await pending.WaitAsync(Timeouts.Default))
        {
            Assert.True(lease.IsAcquired);
        }

        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(TimeSpan.FromSeconds(20), adapter.IdleDuration);
        Assert.Null(adapter.GetStatistics());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => adapter.AcquireAsync(2).AsTask());
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Volatile.Read(ref _now);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _now, by.Ticks);
    }

    private sealed class GatedLimiter : IChatRateLimiter
    {
        private readonly TaskCompletionSource<RateLimitDecision> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release(RateLimitDecision decision) => _decision.SetResult(decision);

        public async ValueTask<RateLimitDecision> AcquireAsync(RateLimitPolicy policy, string key, CancellationToken cancellationToken = default) =>
            await _decision.Task.WaitAsync(cancellationToken);
    }
}
