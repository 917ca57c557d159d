using System.Threading.Channels;
using ChitChat.Transport;

namespace ChitChat.Redis.Tests.Infrastructure;

/// <summary>Records the events of a subscription; tests wait on it with timeouts.</summary>
internal sealed class EventRecorder
{
    private readonly Channel<RoomEvent> _events = Channel.CreateUnbounded<RoomEvent>();

    public ValueTask Handle(RoomEvent roomEvent, CancellationToken cancellationToken)
    {
        _events.Writer.TryWrite(roomEvent);
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until an event matching <paramref name="match"/> arrives, skipping others.</summary>
    public async Task<bool> WaitForAsync(Func<RoomEvent, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var roomEvent = await _events.Reader.ReadAsync(cts.Token);
                if (match(roomEvent))
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task ExpectAsync(Func<RoomEvent, bool> match, string phase)
    {
        if (!await WaitForAsync(match, Poll.DefaultTimeout))
        {
            Assert.Fail($"Timed out after {Poll.DefaultTimeout.TotalSeconds:0} s waiting for {phase}.");
        }
    }

    /// <summary>Waits for the next event, whatever it is.</summary>
    public async Task<RoomEvent> NextAsync(string phase)
    {
        using var cts = new CancellationTokenSource(Poll.DefaultTimeout);
        try
        {
            return await _events.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Timed out after {Poll.DefaultTimeout.TotalSeconds:0} s waiting for {phase}.");
        }
    }

    public static UserTyping Typing(string room, string name) => new(room, Guid.NewGuid(), name);

    public static Func<RoomEvent, bool> Named(string name) => e => e is UserTyping t && t.UserName == name;
}
