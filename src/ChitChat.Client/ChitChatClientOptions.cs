using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace ChitChat.Client;

/// <summary>Where and how a <see cref="ChitChatClient"/> connects. Validated by the client's constructor.</summary>
public sealed class ChitChatClientOptions
{
    /// <summary>Gets or sets the server's base address (<c>http</c> or <c>https</c>), e.g. <c>https://chat.example.com/</c>. A path base is kept.</summary>
    public Uri? Server { get; set; }

    /// <summary>
    /// Gets or sets the callback that returns a bearer token. It is called when connecting, at every reconnect attempt,
    /// before the first HTTP request, and again whenever the server answers 401 (an expired token), so return a fresh token
    /// when the previous one may have expired. Mutually exclusive with <see cref="UserName"/>/<see cref="Password"/>.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? AccessTokenProvider { get; set; }

    /// <summary>Gets or sets the user name to log in with (with <see cref="Password"/>); the client logs in again when the token expires or is refused.</summary>
    public string? UserName { get; set; }

    /// <summary>Gets or sets the password to log in with (with <see cref="UserName"/>). Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>Gets or sets an HTTP handler for the API calls and the hub's HTTP requests (negotiate, long polling). The client does not dispose it.</summary>
    public HttpMessageHandler? HttpMessageHandler { get; set; }

    /// <summary>Gets or sets the clock (reconnect and retry delays, token expiry). Defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Gets or sets the logger factory for the client's and SignalR's logs. Tokens and passwords are never logged.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Gets or sets the delays of SignalR's automatic reconnect. After the last one the client keeps retrying on its own
    /// every <see cref="RetryDelay"/> until it connects or is disconnected or disposed.
    /// </summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)];

    /// <summary>Gets or sets the delay between the client's own reconnect attempts once SignalR's automatic reconnect gave up. Default 5 seconds.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the page size used to page a catch-up and to repair gaps (1 to 500). Default 500.</summary>
    public int HistoryPageSize { get; set; } = 500;

    /// <summary>
    /// Gets or sets a value indicating whether a send refused with <c>rate_limited</c> stays in the outbox and is retried
    /// after the retry delay instead of failing. Default <see langword="false"/>: the send fails with
    /// <see cref="ChitChatException.RetryAfter"/>.
    /// </summary>
    public bool RetryRateLimitedSends { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether each <see cref="RoomSubscription"/> buffers its events for
    /// <see cref="RoomSubscription.ReadEventsAsync"/>. Default <see langword="true"/>; set it to <see langword="false"/> when
    /// the application only uses <see cref="RoomSubscription.EventReceived"/>, so unread events do not accumulate.
    /// </summary>
    public bool BufferRoomEvents { get; set; } = true;

    /// <summary>
    /// Gets or sets a hook that configures SignalR's connection options after the client's own settings, e.g.
    /// <c>o => { o.Transports = HttpTransportType.WebSockets; o.SkipNegotiation = true; }</c>. Do not replace
    /// <see cref="HttpConnectionOptions.AccessTokenProvider"/>: the client's token handling relies on it.
    /// </summary>
    public Action<HttpConnectionOptions>? ConfigureHttpConnection { get; set; }

    /// <summary>Gets or sets a hook that configures the hub connection builder, e.g. to add the MessagePack protocol (<c>b => b.AddMessagePackProtocol()</c>).</summary>
    public Action<IHubConnectionBuilder>? ConfigureHubConnection { get; set; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    internal void Validate()
    {
        if (Server is null)
        {
            throw new ArgumentException("ChitChatClientOptions.Server is required (e.g. https://chat.example.com/).", nameof(Server));
        }

        if (!Server.IsAbsoluteUri || (Server.Scheme != Uri.UriSchemeHttp && Server.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"ChitChatClientOptions.Server must be an absolute http or https address (was '{Server}').", nameof(Server));
        }

        if (AccessTokenProvider is not null && (UserName is not null || Password is not null))
        {
            throw new ArgumentException("ChitChatClientOptions: set either AccessTokenProvider or UserName and Password, not both.", nameof(AccessTokenProvider));
        }

        if ((UserName is null) != (Password is null) || UserName is { Length: 0 } || Password is { Length: 0 })
        {
            throw new ArgumentException("ChitChatClientOptions: UserName and Password go together and must not be empty.", UserName is null or { Length: 0 } ? nameof(UserName) : nameof(Password));
        }

        if (ReconnectDelays is null || ReconnectDelays.Any(d => d < TimeSpan.Zero))
        {
            throw new ArgumentException("ChitChatClientOptions.ReconnectDelays must be a list of non-negative delays (it may be empty).", nameof(ReconnectDelays));
        }

        if (RetryDelay <= TimeSpan.Zero)
        {
            throw new ArgumentException($"ChitChatClientOptions.RetryDelay must be positive (was {RetryDelay}).", nameof(RetryDelay));
        }

        if (HistoryPageSize is < 1 or > 500)
        {
            throw new ArgumentException($"ChitChatClientOptions.HistoryPageSize must be between 1 and 500 (was {HistoryPageSize}).", nameof(HistoryPageSize));
        }
    }
}
