using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore;

/// <summary>
/// The ASP.NET Core host's settings: authentication, hub limits and HTTP limits. Bound from the <c>ChitChat</c>
/// configuration section (<c>ChitChat:Auth:*</c>, <c>ChitChat:Hub:*</c>, <c>ChitChat:Http:*</c>) and validated at start-up.
/// </summary>
public sealed class ChitChatAspNetCoreOptions
{
    /// <summary>Gets the authentication settings (<c>ChitChat:Auth</c>).</summary>
    public ChitChatAuthOptions Auth { get; } = new();

    /// <summary>Gets the hub settings (<c>ChitChat:Hub</c>).</summary>
    public ChitChatHubOptions Hub { get; } = new();

    /// <summary>Gets the HTTP API settings (<c>ChitChat:Http</c>).</summary>
    public ChitChatHttpOptions Http { get; } = new();
}

/// <summary>JWT bearer token settings (<c>ChitChat:Auth</c>).</summary>
public sealed class ChitChatAuthOptions
{
    /// <summary>The smallest signing key, in bytes of its UTF-8 encoding (HMAC-SHA256 needs 256 bits).</summary>
    public const int MinimumSigningKeyBytes = 32;

    /// <summary>
    /// Gets or sets the HMAC-SHA256 signing key shared by every node of one deployment (at least
    /// <see cref="MinimumSigningKeyBytes"/> bytes as UTF-8). Required outside the <c>Development</c> environment; in
    /// Development a random key is generated per process (tokens then die with the process) and a warning is logged.
    /// </summary>
    /// <value>Default <see langword="null"/>.</value>
    public string? SigningKey { get; set; }

    /// <summary>Gets or sets how long an access token is valid.</summary>
    /// <value>Default 12 hours.</value>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Gets or sets the token issuer (<c>iss</c>) written and required.</summary>
    /// <value>Default <c>chitchat</c>.</value>
    public string Issuer { get; set; } = "chitchat";

    /// <summary>
    /// Gets or sets the audience (<c>aud</c>) of this API: written into ChitChat's own tokens and required from every token,
    /// ChitChat's own and those of the external issuer (<see cref="Authority"/>), whose tokens must be issued for it.
    /// </summary>
    /// <value>Default <c>chitchat</c>.</value>
    public string Audience { get; set; } = "chitchat";

    /// <summary>
    /// Gets or sets the external OpenID Connect issuer whose bearer tokens are accepted beside ChitChat's own: an absolute
    /// URI whose <c>/.well-known/openid-configuration</c> discovery document names the issuer and its signing keys (JWKS).
    /// Keys are cached and fetched again when a token names an unknown key id (a rotation), at most once per 5 minutes.
    /// Users of this issuer are created on first sight (see <see cref="UserIdClaim"/>, <see cref="UserNameClaim"/>).
    /// </summary>
    /// <value>Default <see langword="null"/>: only ChitChat's own tokens are accepted.</value>
    public string? Authority { get; set; }

    /// <summary>Gets or sets a value indicating whether <see cref="Authority"/> must be an <c>https</c> address. Turn it off only for a loopback or development issuer.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Gets or sets the claim of an external token that holds the issuer's stable id of the user.</summary>
    /// <value>Default <c>sub</c>.</value>
    public string UserIdClaim { get; set; } = "sub";

    /// <summary>Gets or sets the claim of an external token that holds the user name given to the user on first sight.</summary>
    /// <value>Default <c>preferred_username</c>.</value>
    public string UserNameClaim { get; set; } = "preferred_username";

    /// <summary>Gets or sets how many register and login requests one client IP address may make per <see cref="RateLimitWindow"/>.</summary>
    /// <value>Default 10. Set 0 to disable.</value>
    public int RateLimit { get; set; } = 10;

    /// <summary>Gets or sets the window of <see cref="RateLimit"/>.</summary>
    /// <value>Default 1 minute.</value>
    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>SignalR hub limits (<c>ChitChat:Hub</c>).</summary>
public sealed class ChitChatHubOptions
{
    /// <summary>Gets or sets the largest frame a client may send (SignalR <c>MaximumReceiveMessageSize</c>). A larger frame closes that connection with an error.</summary>
    /// <value>Default 32 KiB: a 4000-character message escaped as JSON fits.</value>
    public long MaximumReceiveMessageSize { get; set; } = 32 * 1024;

    /// <summary>
    /// Gets or sets how many bytes the server buffers for one connection before it stops writing to it (SignalR
    /// <c>TransportMaxBufferSize</c>). Room delivery never waits for one connection, so this only bounds a slow client's backlog in the pipe.
    /// </summary>
    /// <value>Default 64 KiB.</value>
    public long TransportMaxBufferSize { get; set; } = 64 * 1024;

    /// <summary>Gets or sets how many rooms one connection may join at once (error <c>too_many_rooms</c>).</summary>
    /// <value>Default 50.</value>
    public int MaxRoomsPerConnection { get; set; } = 50;

    /// <summary>Gets or sets how many recent messages <c>JoinRoom</c> returns when the client gives no <c>afterSeq</c>.</summary>
    /// <value>Default 50.</value>
    public int RecentMessagesOnJoin { get; set; } = 50;

    /// <summary>
    /// Gets or sets how many hub invocations of one connection the server runs at once (SignalR
    /// <c>MaximumParallelInvocationsPerClient</c>). Each <c>SendMessage</c> acknowledges only once the message is durable; a value
    /// above 1 lets a client pipeline sends (several in flight) so that they share the store's commits. Pipelined sends of one
    /// connection still keep their order: they are numbered in the order the client sent them (see <see cref="SendOrder"/>),
    /// and a connection's <c>JoinRoom</c> and <c>LeaveRoom</c> run one at a time in the order sent. Other invocations
    /// (<c>GetHistory</c>, <c>GetPresence</c>, <c>Typing</c>) may complete in any order. 1 runs one invocation at a time.
    /// </summary>
    /// <value>Default 32.</value>
    public int MaximumParallelInvocationsPerClient { get; set; } = 32;
}

/// <summary>HTTP API limits (<c>ChitChat:Http</c>).</summary>
public sealed class ChitChatHttpOptions
{
    /// <summary>Gets or sets the largest request body the API reads (error <c>payload_too_large</c>).</summary>
    /// <value>Default 64 KiB.</value>
    public long MaxRequestBodySize { get; set; } = 64 * 1024;
}

/// <summary>Validates <see cref="ChitChatAspNetCoreOptions"/> at start-up.</summary>
internal sealed class ChitChatAspNetCoreOptionsValidator(IHostEnvironment environment) : IValidateOptions<ChitChatAspNetCoreOptions>
{
    public ValidateOptionsResult Validate(string? name, ChitChatAspNetCoreOptions options)
    {
        var failures = new List<string>();
        var auth = options.Auth;
        if (string.IsNullOrEmpty(auth.SigningKey))
        {
            if (!environment.IsDevelopment())
            {
                failures.Add($"ChitChat:Auth:SigningKey is required outside the Development environment: a secret of at least {ChitChatAuthOptions.MinimumSigningKeyBytes} bytes shared by every node (e.g. environment variable ChitChat__Auth__SigningKey).");
            }
        }
        else if (Encoding.UTF8.GetByteCount(auth.SigningKey) < ChitChatAuthOptions.MinimumSigningKeyBytes)
        {
            failures.Add($"ChitChat:Auth:SigningKey must be at least {ChitChatAuthOptions.MinimumSigningKeyBytes} bytes (UTF-8).");
        }

        Check(auth.TokenLifetime >= TimeSpan.FromMinutes(1) && auth.TokenLifetime <= TimeSpan.FromDays(365), "ChitChat:Auth:TokenLifetime must be between 1 minute and 365 days.");
        Check(!string.IsNullOrWhiteSpace(auth.Issuer), "ChitChat:Auth:Issuer is required.");
        Check(!string.IsNullOrWhiteSpace(auth.Audience), "ChitChat:Auth:Audience is required.");
        if (!string.IsNullOrEmpty(auth.Authority))
        {
            if (!Uri.TryCreate(auth.Authority, UriKind.Absolute, out var authority) || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp))
            {
                failures.Add($"ChitChat:Auth:Authority must be an absolute http(s) URI of an OpenID Connect issuer (got '{auth.Authority}').");
            }
            else if (authority.Scheme != Uri.UriSchemeHttps && auth.RequireHttpsMetadata)
            {
                failures.Add("ChitChat:Auth:Authority must use https; set ChitChat:Auth:RequireHttpsMetadata to false only for a loopback or development issuer.");
            }

            Check(!string.Equals(auth.Authority.TrimEnd('/'), auth.Issuer.TrimEnd('/'), StringComparison.Ordinal), "ChitChat:Auth:Authority must differ from ChitChat:Auth:Issuer (the issuer of ChitChat's own tokens).");
            Check(!string.IsNullOrWhiteSpace(auth.UserIdClaim), "ChitChat:Auth:UserIdClaim is required when ChitChat:Auth:Authority is set.");
            Check(!string.IsNullOrWhiteSpace(auth.UserNameClaim), "ChitChat:Auth:UserNameClaim is required when ChitChat:Auth:Authority is set.");
        }

        Check(auth.RateLimit >= 0, "ChitChat:Auth:RateLimit must not be negative (0 disables it).");
        Check(auth.RateLimitWindow > TimeSpan.Zero && auth.RateLimitWindow <= TimeSpan.FromDays(1), "ChitChat:Auth:RateLimitWindow must be between 0 (exclusive) and 1 day.");
        Check(options.Hub.MaximumReceiveMessageSize is >= 1024 and <= 16 * 1024 * 1024, "ChitChat:Hub:MaximumReceiveMessageSize must be between 1 KiB and 16 MiB.");
        Check(options.Hub.TransportMaxBufferSize is >= 1024 and <= 64 * 1024 * 1024, "ChitChat:Hub:TransportMaxBufferSize must be between 1 KiB and 64 MiB.");
        Check(options.Hub.MaxRoomsPerConnection is >= 1 and <= 10_000, "ChitChat:Hub:MaxRoomsPerConnection must be between 1 and 10000.");
        Check(options.Hub.RecentMessagesOnJoin is >= 0 and <= 10_000, "ChitChat:Hub:RecentMessagesOnJoin must be between 0 and 10000.");
        Check(options.Hub.MaximumParallelInvocationsPerClient is >= 1 and <= 1024, "ChitChat:Hub:MaximumParallelInvocationsPerClient must be between 1 and 1024.");
        Check(options.Http.MaxRequestBodySize is >= 1024 and <= 64 * 1024 * 1024, "ChitChat:Http:MaxRequestBodySize must be between 1 KiB and 64 MiB.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Check(bool condition, string failure)
        {
            if (!condition)
            {
                failures.Add(failure);
            }
        }
    }
}
