using ChitChat.Leases;
using Microsoft.Extensions.Time.Testing;

namespace ChitChat.Core.Tests;

public sealed class InMemoryLeaseProviderTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryLeaseProvider _leases;

    public InMemoryLeaseProviderTests() => _leases = new InMemoryLeaseProvider(_time);

    [Fact]
    public async Task A_lease_is_exclusive_while_it_lasts()
    {
        var a = await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed();

        Assert.NotNull(a);
        Assert.Equal("sync", a.Name);
        Assert.Equal("node-a", a.OwnerId);
        Assert.Null(await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed());
        _time.Advance(Duration - TimeSpan.FromMilliseconds(1));
        Assert.Null(await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed());
    }

    [Fact]
    public async Task Different_names_are_independent()
    {
        var a = await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed();
        var b = await _leases.TryAcquireAsync("other", "node-b", Duration).Timed();

        Assert.NotNull(a);
        Assert.NotNull(b);
    }

    [Fact]
    public async Task Expiry_lets_another_acquire_with_a_larger_fencing_token_and_the_old_holder_cannot_renew()
    {
        var a = await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed();
        _time.Advance(Duration);

        var b = await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed();

        Assert.NotNull(b);
        Assert.True(b.FencingToken > a!.FencingToken);
        Assert.False(await a.TryRenewAsync().Timed());
        Assert.True(await b.TryRenewAsync().Timed());
        Assert.Null(await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed());
    }

    [Fact]
    public async Task Renewal_extends_the_lease_by_its_duration()
    {
        var a = await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed();
        _time.Advance(TimeSpan.FromSeconds(8));

        Assert.True(await a!.TryRenewAsync().Timed());
        _time.Advance(TimeSpan.FromSeconds(8)); // 16 s after acquiring, 8 s after renewing

        Assert.Null(await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed());
        _time.Advance(TimeSpan.FromSeconds(2)); // 10 s after renewing
        Assert.NotNull(await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed());
    }

    [Fact]
    public async Task An_expired_lease_cannot_be_renewed()
    {
        var a = await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed();
        _time.Advance(Duration);

        Assert.False(await a!.TryRenewAsync().Timed());
    }

    [Fact]
    public async Task Fencing_tokens_strictly_increase_per_name()
    {
        var tokens = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            var lease = await _leases.TryAcquireAsync("sync", $"node-{i}", Duration).Timed();
            tokens.Add(lease!.FencingToken);
            if (i % 2 == 0)
            {
                await lease.ReleaseAsync().Timed();
            }
            else
            {
                _time.Advance(Duration);
            }
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(5, tokens.Distinct().Count());
        Assert.True(tokens[0] > 0);
    }

    [Fact]
    public async Task Release_frees_the_lease_at_once()
    {
        var a = await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed();

        await a!.ReleaseAsync().Timed();

        Assert.NotNull(await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed());
        Assert.False(await a.TryRenewAsync().Timed());
    }

    [Fact]
    public async Task Disposing_releases_the_lease()
    {
        await using (await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed())
        {
            Assert.Null(await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed());
        }

        Assert.NotNull(await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed());
    }

    [Fact]
    public async Task A_lost_lease_releasing_late_does_not_free_the_new_holders_lease()
    {
        var a = await _leases.TryAcquireAsync("sync", "node-a", Duration).Timed();
        _time.Advance(Duration);
        var b = await _leases.TryAcquireAsync("sync", "node-b", Duration).Timed();

        await a!.ReleaseAsync().Timed();

        Assert.Null(await _leases.TryAcquireAsync("sync", "node-c", Duration).Timed());
        Assert.True(await b!.TryRenewAsync().Timed());
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _leases.TryAcquireAsync("", "node-a", Duration).Timed()).Timed();
        await Assert.ThrowsAsync<ArgumentNullException>(() => _leases.TryAcquireAsync("sync", null!, Duration).Timed()).Timed();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _leases.TryAcquireAsync("sync", "node-a", TimeSpan.Zero).Timed()).Timed();
    }
}
