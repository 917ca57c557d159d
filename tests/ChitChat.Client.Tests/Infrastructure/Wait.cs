using System.Threading.Channels;
using ChitChat.Contracts;

namespace ChitChat.Client.Tests.Infrastructure;

public static class Wait
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Awaits <paramref name="task"/> within <see cref="Timeout"/>, naming the phase when it does not complete.</summary>
    public static async Task<T> For<T>(Task<T> task, string phase)
    {
        try
        {
            return await task.WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{phase}: not done within {Timeout}.");
        }
    }

    /// <inheritdoc cref="For{T}(Task{T}, string)"/>
    public static async Task For(Task task, string phase)
    {
        try
        {
            await task.WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{phase}: not done within {Timeout}.");
        }
    }

    /// <summary>Reads the whole history of a room (ascending) over HTTP.</summary>
    public static async Task<List<MessageDto>> HistoryAsync(ChitChatClient client, string room)
    {
        var all = new List<MessageDto>();
        while (true)
        {
            var page = await client.GetHistoryAsync(room, 500, afterSeq: all.Count > 0 ? all[^1].Seq : 0).WaitAsync(Timeout);
            if (page.Count == 0)
            {
                return all;
            }

            all.AddRange(page);
        }
    }
}

/// <summary>Collects what a subscription delivers through <see cref="RoomSubscription.ReadEventsAsync"/>.</summary>
public sealed class EventCollector
{
    private readonly List<RoomEvent> _events = [];
    private readonly Channel<bool> _changed = Channel.CreateUnbounded<bool>();

    public EventCollector(RoomSubscription subscription)
    {
        Pump = Task.Run(async () =>
        {
            await foreach (var e in subscription.ReadEventsAsync())
            {
                lock (_events)
                {
                    _events.Add(e);
                }

                _changed.Writer.TryWrite(true);
            }
        });
    }

    public Task Pump { get; }

    /// <summary>Gets every delivered event (messages and updates), in delivery order.</summary>
    public List<RoomEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Gets the delivered new messages (<see cref="MessageReceived"/>), in delivery order.</summary>
    public List<MessageDto> Messages => Events.OfType<MessageReceived>().Select(e => e.Message).ToList();

    /// <summary>Gets the seqs of the delivered new messages.</summary>
    public List<long> Seqs => Messages.ConvertAll(m => m.Seq);

    /// <summary>Gets the seqs of every delivered event.</summary>
    public List<long> EventSeqs => Events.ConvertAll(e => e.Seq);

    /// <summary>Waits until an event with at least <paramref name="seq"/> was delivered.</summary>
    public async Task WaitForSeqAsync(long seq, string phase)
    {
        using var cts = new CancellationTokenSource(Wait.Timeout);
        while (!Events.Exists(m => m.Seq >= seq))
        {
            try
            {
                await _changed.Reader.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{phase}: seq {seq} not delivered within {Wait.Timeout}; delivered: [{string.Join(", ", EventSeqs)}].");
            }
        }
    }
}

/// <summary>Records a client's state changes.</summary>
public sealed class StateRecorder
{
    private readonly List<ConnectionStateChangedEventArgs> _changes = [];
    private readonly Channel<bool> _changed = Channel.CreateUnbounded<bool>();

    public StateRecorder(ChitChatClient client) => client.StateChanged += (_, e) =>
    {
        lock (_changes)
        {
            _changes.Add(e);
        }

        _changed.Writer.TryWrite(true);
    };

    public List<ConnectionStateChangedEventArgs> Changes
    {
        get
        {
            lock (_changes)
            {
                return [.. _changes];
            }
        }
    }

    /// <summary>Waits until <paramref name="count"/> changes match <paramref name="predicate"/> (counting from the start).</summary>
    public async Task WaitForAsync(Func<ConnectionStateChangedEventArgs, bool> predicate, string phase, int count = 1)
    {
        using var cts = new CancellationTokenSource(Wait.Timeout);
        while (Changes.Count(predicate) < count)
        {
            try
            {
                await _changed.Reader.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{phase}: state not reached within {Wait.Timeout}; changes: [{string.Join(", ", Changes.Select(c => $"{c.PreviousState}->{c.State}"))}].");
            }
        }
    }
}
