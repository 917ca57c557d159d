using ChitChat.Presence;

namespace ChitChat.Core.Tests;

public sealed class InMemoryPresenceTrackerTests
{
    private readonly InMemoryPresenceTracker _tracker = new();
    private readonly OnlineUser _alice = new(Guid.CreateVersion7(), "alice");
    private readonly OnlineUser _bob = new(Guid.CreateVersion7(), "Bob");

    [Fact]
    public async Task The_first_connection_announces_and_the_last_leaving_announces()
    {
        Assert.True(await _tracker.JoinAsync("global", "c1", _alice).Timed());
        Assert.False(await _tracker.JoinAsync("global", "c2", _alice).Timed());
        Assert.False(await _tracker.JoinAsync("global", "c3", _alice).Timed());

        Assert.False(await _tracker.LeaveAsync("global", "c2", _alice).Timed());
        Assert.False(await _tracker.LeaveAsync("global", "c1", _alice).Timed());
        Assert.Equal([_alice], await _tracker.GetOnlineAsync("global").Timed());
        Assert.True(await _tracker.LeaveAsync("global", "c3", _alice).Timed());
        Assert.Empty(await _tracker.GetOnlineAsync("global").Timed());

        Assert.True(await _tracker.JoinAsync("global", "c4", _alice).Timed());
    }

    [Fact]
    public async Task Joining_twice_with_one_connection_needs_one_leave()
    {
        Assert.True(await _tracker.JoinAsync("global", "c1", _alice).Timed());
        Assert.False(await _tracker.JoinAsync("global", "c1", _alice).Timed());

        Assert.True(await _tracker.LeaveAsync("global", "c1", _alice).Timed());
        Assert.Empty(await _tracker.GetOnlineAsync("global").Timed());
    }

    [Fact]
    public async Task Leaving_unknown_rooms_users_or_connections_is_a_no_op()
    {
        await _tracker.JoinAsync("global", "c1", _alice).Timed();

        Assert.False(await _tracker.LeaveAsync("nowhere", "c1", _alice).Timed());
        Assert.False(await _tracker.LeaveAsync("global", "c1", _bob).Timed());
        Assert.False(await _tracker.LeaveAsync("global", "c9", _alice).Timed());
        Assert.False(await _tracker.LeaveAsync("global", "c9", _alice).Timed());

        Assert.Equal([_alice], await _tracker.GetOnlineAsync("global").Timed());
        Assert.Empty(await _tracker.GetOnlineAsync("nowhere").Timed());
    }

    [Fact]
    public async Task Online_users_are_listed_once_ordered_by_name_ignoring_case()
    {
        var carol = new OnlineUser(Guid.CreateVersion7(), "carol");
        await _tracker.JoinAsync("global", "c1", carol).Timed();
        await _tracker.JoinAsync("global", "b1", _bob).Timed();
        await _tracker.JoinAsync("global", "a1", _alice).Timed();
        await _tracker.JoinAsync("global", "a2", _alice).Timed();

        Assert.Equal([_alice, _bob, carol], await _tracker.GetOnlineAsync("global").Timed());
    }

    [Fact]
    public async Task Rooms_are_independent()
    {
        Assert.True(await _tracker.JoinAsync("global", "c1", _alice).Timed());
        Assert.True(await _tracker.JoinAsync("other", "c1", _alice).Timed());

        Assert.True(await _tracker.LeaveAsync("global", "c1", _alice).Timed());

        Assert.Empty(await _tracker.GetOnlineAsync("global").Timed());
        Assert.Equal([_alice], await _tracker.GetOnlineAsync("other").Timed());
    }

    [Fact]
    public async Task Concurrent_joins_of_one_user_announce_exactly_once()
    {
        var announced = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () => await _tracker.JoinAsync("global", $"c{i}", _alice)))).Timed();
        var offline = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () => await _tracker.LeaveAsync("global", $"c{i}", _alice)))).Timed();

        Assert.Equal(1, announced.Count(a => a));
        Assert.Equal(1, offline.Count(a => a));
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _tracker.JoinAsync("", "c1", _alice).Timed()).Timed();
        await Assert.ThrowsAsync<ArgumentException>(() => _tracker.JoinAsync("global", "", _alice).Timed()).Timed();
        await Assert.ThrowsAsync<ArgumentException>(() => _tracker.LeaveAsync("", "c1", _alice).Timed()).Timed();
    }
}
