namespace ChitChat.Client;

/// <summary>The state of a <see cref="ChitChatClient"/>'s hub connection.</summary>
public enum ChitChatConnectionState
{
    /// <summary>Not connected (before <see cref="ChitChatClient.ConnectAsync"/>, after <see cref="ChitChatClient.DisconnectAsync"/>, or a first connect failed).</summary>
    Disconnected,

    /// <summary><see cref="ChitChatClient.ConnectAsync"/> is running.</summary>
    Connecting,

    /// <summary>Connected, every joined room caught up. After a reconnect the event says <see cref="ConnectionStateChangedEventArgs.IsReconnect"/>.</summary>
    Connected,

    /// <summary>The connection dropped; SignalR's automatic reconnect is running. Room events and sends resume after it.</summary>
    Reconnecting,

    /// <summary>SignalR's automatic reconnect gave up; the client keeps retrying every <see cref="ChitChatClientOptions.RetryDelay"/>.</summary>
    Retrying,
}

/// <summary>A change of <see cref="ChitChatClient.State"/>.</summary>
public sealed class ConnectionStateChangedEventArgs : EventArgs
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="previousState">The state before.</param>
    /// <param name="state">The new state.</param>
    /// <param name="error">Why the connection dropped or failed, if known.</param>
    public ConnectionStateChangedEventArgs(ChitChatConnectionState previousState, ChitChatConnectionState state, Exception? error)
    {
        PreviousState = previousState;
        State = state;
        Error = error;
    }

    /// <summary>Gets the state before the change.</summary>
    public ChitChatConnectionState PreviousState { get; }

    /// <summary>Gets the new state.</summary>
    public ChitChatConnectionState State { get; }

    /// <summary>Gets why the connection dropped or failed, if known.</summary>
    public Exception? Error { get; }

    /// <summary>Gets a value indicating whether this is the end of a reconnect: connected again, every joined room re-joined and caught up.</summary>
    public bool IsReconnect => State == ChitChatConnectionState.Connected && PreviousState is ChitChatConnectionState.Reconnecting or ChitChatConnectionState.Retrying;
}
