using System.Text.Json;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.AspNetCore.Tests.Infrastructure;

/// <summary>A SignalR client that records every event and lets tests wait for conditions on them.</summary>
public sealed class HubClient : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<MessageDto> _messages = [];
    private readonly List<PresenceEvent> _presence = [];
    private readonly List<TypingEvent> _typing = [];
    private readonly List<MemberEvent> _members = [];
    private readonly List<RemovedEvent> _removed = [];
    private readonly List<MessageUpdatedEvent> _updates = [];
    private readonly List<ReadEvent> _reads = [];
    private readonly List<MentionEvent> _mentions = [];
    private readonly List<(string Room, object Event)> _log = [];
    private readonly List<(Func<bool> Condition, TaskCompletionSource Signal)> _waiters = [];

    public HubClient(HubConnection connection)
    {
        Connection = connection;
        connection.On<MessageDto>(HubEvents.Message, m => Record(m.Room, m, () => _messages.Add(m)));
        connection.On<PresenceEvent>(HubEvents.Presence, p => Record(p.Room, p, () => _presence.Add(p)));
        connection.On<TypingEvent>(HubEvents.Typing, t => Record(t.Room, t, () => _typing.Add(t)));
        connection.On<MemberEvent>(HubEvents.Member, m => Record(m.Room, m, () => _members.Add(m)));
        connection.On<RemovedEvent>(HubEvents.Removed, r => Record(r.Room, r, () => _removed.Add(r)));
        connection.On<MessageUpdatedEvent>(HubEvents.MessageUpdated, u => Record(u.Room, u, () => _updates.Add(u)));
        connection.On<ReadEvent>(HubEvents.Read, r => Record(r.Room, r, () => _reads.Add(r)));
        connection.On<MentionEvent>(HubEvents.Mention, m => Record(m.Room, m, () => _mentions.Add(m)));
    }

    public HubConnection Connection { get; }

    public MessageDto[] Messages(string room)
    {
        lock (_gate)
        {
            return _messages.Where(m => m.Room == room).ToArray();
        }
    }

    public PresenceEvent[] Presence(string room)
    {
        lock (_gate)
        {
            return _presence.Where(m => m.Room == room).ToArray();
        }
    }

    public TypingEvent[] Typing(string room)
    {
        lock (_gate)
        {
            return _typing.Where(m => m.Room == room).ToArray();
        }
    }

    public MemberEvent[] Members(string room)
    {
        lock (_gate)
        {
            return _members.Where(m => m.Room == room).ToArray();
        }
    }

    public RemovedEvent[] Removed(string room)
    {
        lock (_gate)
        {
            return _removed.Where(m => m.Room == room).ToArray();
        }
    }

    public MessageUpdatedEvent[] Updates(string room)
    {
        lock (_gate)
        {
            return _updates.Where(m => m.Room == room).ToArray();
        }
    }

    public ReadEvent[] Reads(string room)
    {
        lock (_gate)
        {
            return _reads.Where(m => m.Room == room).ToArray();
        }
    }

    public MentionEvent[] MentionEvents(string room)
    {
        lock (_gate)
        {
            return _mentions.Where(m => m.Room == room).ToArray();
        }
    }

    /// <summary>The seqs of the room's sequence received live (messages and updates) in arrival order.</summary>
    public long[] Sequenced(string room)
    {
        lock (_gate)
        {
            return _log.Where(e => e.Room == room).Select(e => e.Event switch { MessageDto m => m.Seq, MessageUpdatedEvent u => u.Seq, _ => -1 }).Where(s => s >= 0).ToArray();
        }
    }

    /// <summary>Every event of a room in arrival order (messages, updates, presence, typing, member, removed, read, mention).</summary>
    public object[] Events(string room)
    {
        lock (_gate)
        {
            return _log.Where(e => e.Room == room).Select(e => e.Event).ToArray();
        }
    }

    public Task<JoinRoomResult> JoinAsync(string room, long? afterSeq = null) =>
        Connection.InvokeAsync<JoinRoomResult>("JoinRoom", room, afterSeq).WaitAsync(Timeouts.Default);

    public Task<SendMessageAck> SendAsync(string room, string text, string? clientMessageId = null) =>
        Connection.InvokeAsync<SendMessageAck>("SendMessage", room, text, clientMessageId ?? Guid.NewGuid().ToString("N")).WaitAsync(Timeouts.Default);

    /// <summary>Waits until <paramref name="condition"/> holds on the recorded events, failing with <paramref name="phase"/> after a generous timeout.</summary>
    public async Task WaitUntilAsync(Func<HubClient, bool> condition, string phase)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (condition(this))
            {
                return;
            }

            _waiters.Add((() => condition(this), signal));
        }

        try
        {
            await signal.Task.WaitAsync(Timeouts.Default);
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                throw new TimeoutException($"Timed out waiting for: {phase}. Recorded {_messages.Count} messages (seqs {string.Join(",", _messages.Select(m => $"{m.Room}#{m.Seq}"))}), {_presence.Count} presence, {_typing.Count} typing events.");
            }
        }
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();

    private void Record(string room, object received, Action add)
    {
        lock (_gate)
        {
            add();
            _log.Add((room, received));
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Condition())
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}

public static class Problem
{
    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsyncSafe();
    }

    private static async Task<JsonElement> ReadFromJsonAsyncSafe(this HttpContent content)
    {
        var text = await content.ReadAsStringAsync().WaitAsync(Timeouts.Default);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task AssertAsync(HttpResponseMessage response, int status, string code)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var problem = await ReadAsync(response);
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
    }
}

public sealed class SharedServer : IAsyncLifetime
{
    public ChitChatServer Server { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        Server = ChitChatServer.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}


public static class HubError
{
    /// <summary>
    /// The error code of a hub error. SignalR sends a failed invocation as
    /// "An unexpected error occurred invoking 'X' on the server. HubException: &lt;code&gt;: &lt;message&gt;".
    /// </summary>
    public static string Code(Exception error)
    {
        const string marker = "HubException: ";
        var at = error.Message.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"Not a ChitChat hub error: {error.Message}");
        var rest = error.Message[(at + marker.Length)..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        Assert.True(colon > 0, $"No code in hub error: {error.Message}");
        return rest[..colon];
    }

    public static string Message(Exception error)
    {
        const string marker = "HubException: ";
        var at = error.Message.IndexOf(marker, StringComparison.Ordinal);
        return at >= 0 ? error.Message[(at + marker.Length)..] : error.Message;
    }
}
