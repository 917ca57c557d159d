using System.Collections.Concurrent;
using ChitChat.Client.Internal;
using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChitChat.Client.Tests;

/// <summary>The merge logic alone, against a fake hub whose answers the test releases.</summary>
public sealed class RoomSynchronizerTests
{
    private const string Room = "lounge";

    [Fact]
    public async Task Live_events_that_arrive_before_the_join_result_are_buffered_and_delivered_after_the_missed_ones()
    {
        var hub = new FakeHub();
        var delivered = new List<long>();
        var sync = new RoomSynchronizer(Room, afterSeq: 7, hub, 500, e => delivered.Add(e.Seq), NullLogger.Instance);

        var join = sync.JoinAsync(CancellationToken.None);
        var call = await Wait.For(hub.Joins.Reader.ReadAsync().AsTask(), "join sent");
        Assert.Equal(7, call.AfterSeq);

        // While JoinRoom is in flight: one event covered by the catch-up (10) and two after the boundary (11, 12), out of order.
        sync.OnLive(Message(12));
        sync.OnLive(Message(10));
        sync.OnLive(Message(11));
        Assert.Empty(delivered);
        Assert.Equal(3, sync.HeldCount);

        call.Result.SetResult(new JoinRoomResult(Room, 10, [Message(8), Message(9), Message(10)], false));
        await Wait.For(join, "join completes");
        Assert.Equal([8, 9, 10, 11, 12], delivered);
        Assert.Equal(12, sync.LastDelivered);
        Assert.Equal(0, sync.HeldCount);

        // Duplicates of delivered events are dropped.
        sync.OnLive(Message(12));
        sync.OnLive(Message(13));
        Assert.Equal([8, 9, 10, 11, 12, 13], delivered);
    }

    [Fact]
    public async Task A_join_without_afterSeq_starts_at_the_first_missed_message_and_drops_older_buffered_events()
    {
        var hub = new FakeHub();
        var delivered = new List<long>();
        var sync = new RoomSynchronizer(Room, afterSeq: null, hub, 500, e => delivered.Add(e.Seq), NullLogger.Instance);
        var join = sync.JoinAsync(CancellationToken.None);
        var call = await Wait.For(hub.Joins.Reader.ReadAsync().AsTask(), "join sent");
        Assert.Null(call.AfterSeq);
        sync.OnLive(Message(41)); // before the boundary: already in missed
        sync.OnLive(Message(43));
        call.Result.SetResult(new JoinRoomResult(Room, 42, [Message(40), Message(41), Message(42)], HasMore: true)); // hasMore: older ones exist
        await Wait.For(join, "join completes");
        Assert.Equal([40, 41, 42, 43], delivered);
        Assert.Empty(hub.HistoryCalls);
    }

    [Fact]
    public async Task A_capped_catch_up_is_paged_with_GetEvents_before_the_buffered_live_events()
    {
        var hub = new FakeHub();
        hub.History = (before, after, limit) => Enumerable.Range((int)after!.Value + 1, 2).Where(s => s <= 6).Select(s => Message(s)).ToList();
        var delivered = new List<long>();
        var sync = new RoomSynchronizer(Room, afterSeq: 0, hub, 2, e => delivered.Add(e.Seq), NullLogger.Instance);
        var join = sync.JoinAsync(CancellationToken.None);
        var call = await Wait.For(hub.Joins.Reader.ReadAsync().AsTask(), "join sent");
        sync.OnLive(Message(7));
        call.Result.SetResult(new JoinRoomResult(Room, 6, [Message(1), Message(2)], HasMore: true));
        await Wait.For(join, "join completes");
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], delivered);
        Assert.Equal([2L, 4L], hub.HistoryCalls.Select(c => c.After!.Value));
    }

    [Fact]
    public async Task A_seq_jump_is_repaired_with_GetEvents_and_nothing_is_delivered_twice()
    {
        var hub = new FakeHub();
        var delivered = new ConcurrentQueue<long>();
        var gapFilled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sync = new RoomSynchronizer(Room, afterSeq: 0, hub, 500, e =>
        {
            delivered.Enqueue(e.Seq);
            if (e.Seq == 4)
            {
                gapFilled.TrySetResult();
            }
        }, NullLogger.Instance);
        var join = sync.JoinAsync(CancellationToken.None);
        (await Wait.For(hub.Joins.Reader.ReadAsync().AsTask(), "join sent")).Result.SetResult(new JoinRoomResult(Room, 1, [Message(1)], false));
        await Wait.For(join, "join completes");

        hub.History = (before, after, limit) => Enumerable.Range((int)after!.Value + 1, (int)(4 - after.Value)).Select(s => Message(s)).ToList();
        sync.OnLive(Message(4)); // 2 and 3 were lost on the way
        await Wait.For(gapFilled.Task, "gap repaired");
        sync.OnLive(Message(3)); // late duplicate
        sync.OnLive(Message(5));
        Assert.Equal([1, 2, 3, 4, 5], delivered);
        Assert.Equal(1, hub.HistoryCalls.Count(c => c.After == 1));
    }

    [Fact]
    public async Task A_rejoin_continues_after_the_last_delivered_seq()
    {
        var hub = new FakeHub();
        var delivered = new List<long>();
        var sync = new RoomSynchronizer(Room, afterSeq: 0, hub, 500, e => delivered.Add(e.Seq), NullLogger.Instance);
        var first = sync.JoinAsync(CancellationToken.None);
        (await Wait.For(hub.Joins.Reader.ReadAsync().AsTask(), "first join")).Result.SetResult(new JoinRoomResult(Room, 2, [Message(1), Message(2)], false));
        await Wait.For(first, "first join completes");
        sync.OnLive(Message(3));

        var rejoin = sync.JoinAsync(CancellationToken.None);
        var call = await Wait.For(hub.Joins.Reader.ReadAsync().AsTask(), "re-join");
        Assert.Equal(3, call.AfterSeq);
        sync.OnLive(Message(6)); // the new connection's first live event, ahead of the result
        call.Result.SetResult(new JoinRoomResult(Room, 5, [Message(4), Message(5)], false));
        await Wait.For(rejoin, "re-join completes");
        Assert.Equal([1, 2, 3, 4, 5, 6], delivered);
    }

    [Fact]
    public async Task Updates_are_merged_with_missed_messages_by_seq_and_a_lost_update_is_repaired_with_GetEvents()
    {
        var hub = new FakeHub();
        var delivered = new ConcurrentQueue<RoomEvent>();
        var repaired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sync = new RoomSynchronizer(Room, afterSeq: 0, hub, 500, e =>
        {
            delivered.Enqueue(e);
            if (e.Seq == 6)
            {
                repaired.TrySetResult();
            }
        }, NullLogger.Instance);
        var join = sync.JoinAsync(CancellationToken.None);
        var call = await Wait.For(hub.Joins.Reader.ReadAsync().AsTask(), "join sent");
        var first = Message(1) with { Text = "edited", EditedAt = DateTime.UtcNow };
        sync.OnLive(new MessageUpdatedEvent(Room, 4, MessageChanges.Reactions, first)); // live, beyond the boundary
        call.Result.SetResult(new JoinRoomResult(Room, 3, [first, Message(3)], false)
        {
            Updates = [new MessageUpdatedEvent(Room, 2, MessageChanges.Edited, first)],
        });
        await Wait.For(join, "join completes");
        Assert.Equal([1L, 2, 3, 4], delivered.Select(e => e.Seq));
        Assert.Equal([typeof(MessageReceived), typeof(MessageUpdated), typeof(MessageReceived), typeof(MessageUpdated)], delivered.Select(e => e.GetType()));
        Assert.Equal(MessageChanges.Edited, ((MessageUpdated)delivered.ElementAt(1)).Change);

        // The update with seq 5 is lost on the way: the jump to 6 is repaired with GetEvents (history has no updates).
        var deleted = Message(3) with { Text = string.Empty, Deleted = true };
        hub.Events = (after, limit) => after == 4 ? [new RoomEventDto(RoomEventTypes.MessageUpdated, 5, deleted, MessageChanges.Deleted)] : [];
        sync.OnLive(Message(6));
        await Wait.For(repaired.Task, "gap repaired");
        sync.OnLive(new MessageUpdatedEvent(Room, 5, MessageChanges.Deleted, deleted)); // a late duplicate
        Assert.Equal([1L, 2, 3, 4, 5, 6], delivered.Select(e => e.Seq));
        var update = Assert.IsType<MessageUpdated>(delivered.ElementAt(4));
        Assert.True(update.Message.Deleted);
        Assert.Equal(3, update.Message.Seq);
        Assert.Equal([4L], hub.HistoryCalls.Select(c => c.After!.Value));
    }

    [Fact]
    public async Task A_join_without_afterSeq_continues_after_the_boundary_even_when_updates_took_the_last_seqs()
    {
        var hub = new FakeHub();
        var delivered = new List<long>();
        var sync = new RoomSynchronizer(Room, afterSeq: null, hub, 500, e => delivered.Add(e.Seq), NullLogger.Instance);
        var join = sync.JoinAsync(CancellationToken.None);
        var call = await Wait.For(hub.Joins.Reader.ReadAsync().AsTask(), "join sent");
        sync.OnLive(new MessageUpdatedEvent(Room, 9, MessageChanges.Edited, Message(5)));
        call.Result.SetResult(new JoinRoomResult(Room, 8, [Message(3), Message(5), Message(6)], false)); // 4, 7 and 8 were updates
        await Wait.For(join, "join completes");
        Assert.Equal([3L, 5, 6, 9], delivered);
        Assert.Equal(9, sync.LastDelivered);
        Assert.Empty(hub.HistoryCalls);
    }

    private static MessageDto Message(long seq) =>
        new(Guid.CreateVersion7(), Room, seq, Guid.Empty, "someone", $"m{seq}", DateTime.UtcNow, null);

    private sealed class FakeHub : IRoomHub
    {
        public System.Threading.Channels.Channel<(long? AfterSeq, TaskCompletionSource<JoinRoomResult> Result)> Joins { get; } =
            System.Threading.Channels.Channel.CreateUnbounded<(long?, TaskCompletionSource<JoinRoomResult>)>();

        public ConcurrentQueue<(long? Before, long? After, int? Limit)> HistoryCalls { get; } = new();

        /// <summary>Answers GetEvents with messages (before is always null: GetEvents pages forward only).</summary>
        public Func<long?, long?, int?, IReadOnlyList<MessageDto>> History { get; set; } = (_, _, _) => [];

        /// <summary>Answers GetEvents with any events; when set, <see cref="History"/> is not used.</summary>
        public Func<long, int?, IReadOnlyList<RoomEventDto>>? Events { get; set; }

        public Task<JoinRoomResult> JoinRoomAsync(string room, long? afterSeq, CancellationToken cancellationToken)
        {
            var result = new TaskCompletionSource<JoinRoomResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            Joins.Writer.TryWrite((afterSeq, result));
            return result.Task;
        }

        public Task<IReadOnlyList<RoomEventDto>> GetEventsAsync(string room, long afterSeq, int? limit, CancellationToken cancellationToken)
        {
            HistoryCalls.Enqueue((null, afterSeq, limit));
            IReadOnlyList<RoomEventDto> page = Events is { } events
                ? events(afterSeq, limit)
                : History(null, afterSeq, limit).Select(m => new RoomEventDto(RoomEventTypes.Message, m.Seq, m, null)).ToList();
            return Task.FromResult(page);
        }
    }
}
