namespace ChitChat.Cli.Client;

/// <summary>Where and how <see cref="ChatClient"/> connects.</summary>
public sealed class ChatClientOptions
{
    /// <summary>Gets or sets the server base address, e.g. <c>http://localhost:5000</c>.</summary>
    public Uri Server { get; set; } = new("http://localhost:5000");

    /// <summary>Gets or sets the delays of SignalR's automatic reconnect; after the last one the client keeps retrying every <see cref="RetryDelay"/>.</summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)];

    /// <summary>Gets or sets the delay between reconnect attempts once the automatic reconnect gave up.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets the history page size used to fill gaps and page catch-ups.</summary>
    public int PageSize { get; set; } = 500;
}
