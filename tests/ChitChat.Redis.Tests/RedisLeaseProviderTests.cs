using ChitChat.Redis.Tests.Infrastructure;

namespace ChitChat.Redis.Tests;

public sealed class RedisLeaseProviderTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly RedisTestNodes _nodes = new(redis.ConnectionString);

    public ValueTask DisposeAsync() => _nodes.DisposeAsync();

    [Fact]
    public async Task Only_one_of_two_contenders_holds_the_lease()
    {
        var a = _nodes.Leases();
        var b = _nodes.Leases();
        var name = Name();

        var results = await Task.WhenAll(
            a.TryAcquireAsync(name, "node-a", TimeSpan.FromMinutes(1)).AsTask(),
            b.TryAcquireAsync(name, "node-b", TimeSpan.FromMinutes(1)).AsTask()).WaitAsync(Timeout);

        var holder = Assert.Single(results, r => r is not null)!;
        Assert.Equal(name, holder.Name);
        Assert.Contains(holder.OwnerId, new[] { "node-a", "node-b" });
        Assert.True(holder.FencingToken > 0);
        Assert.True(await holder.TryRenewAsync().AsTask().WaitAsync(Timeout));

        // Someone else still cannot take it.
        Assert.Null(await b.TryAcquireAsync(name, "node-c", TimeSpan.FromMinutes(1)).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_holder_that_stops_renewing_loses_the_lease_to_a_contender_with_a_larger_fencing_token()
    {
        var a = _nodes.Leases();
        var b = _nodes.Leases();
        var name = Name();
        var first = await a.TryAcquireAsync(name, "node-a", TimeSpan.FromMilliseconds(500)).AsTask().WaitAsync(Timeout);
        Assert.NotNull(first);

        ChitChat.Leases.ILease? second = null;
        await Poll.UntilAsync(
            async () => (second = await b.TryAcquireAsync(name, "node-b", TimeSpan.FromMinutes(1))) is not null,
            "the contender acquires the expired lease");

        Assert.Equal("node-b", second!.OwnerId);
        Assert.True(second.FencingToken > first.FencingToken, $"{second.FencingToken} > {first.FencingToken}");

        // The old holder can neither renew nor release the new holder's lease.
        Assert.False(await first.TryRenewAsync().AsTask().WaitAsync(Timeout));
        await first.ReleaseAsync().AsTask().WaitAsync(Timeout);
        Assert.True(await second.TryRenewAsync().AsTask().WaitAsync(Timeout));
        Assert.Null(await a.TryAcquireAsync(name, "node-a", TimeSpan.FromMinutes(1)).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_released_lease_can_be_acquired_at_once_and_fencing_tokens_keep_increasing()
    {
        var a = _nodes.Leases();
        var b = _nodes.Leases();
        var name = Name();
        var tokens = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            var provider = i % 2 == 0 ? a : b;
            var lease = await provider.TryAcquireAsync(name, $"owner-{i}", TimeSpan.FromMinutes(1)).AsTask().WaitAsync(Timeout);
            Assert.NotNull(lease);
            tokens.Add(lease.FencingToken);
            await lease.DisposeAsync().AsTask().WaitAsync(Timeout);
            Assert.False(await lease.TryRenewAsync().AsTask().WaitAsync(Timeout));
        }

        Assert.True(tokens[0] < tokens[1] && tokens[1] < tokens[2], string.Join(", ", tokens));

        // Different names are independent.
        Assert.NotNull(await a.TryAcquireAsync(Name(), "owner", TimeSpan.FromMinutes(1)).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected()
    {
        var a = _nodes.Leases();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => a.TryAcquireAsync("", "o", TimeSpan.FromSeconds(1)).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => a.TryAcquireAsync("n", "", TimeSpan.FromSeconds(1)).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => a.TryAcquireAsync("n", "o", TimeSpan.Zero).AsTask());
    }

    private static string Name() => "lease-" + Guid.NewGuid().ToString("N")[..12];
}
