using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using ChitChat.AspNetCore.Hosting;
using ChitChat.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Legacy;

/// <summary>
/// The ASP.NET Core rate limiting policy of <c>POST /register/</c> and <c>POST /login/</c>:
/// <see cref="LegacyApiOptions.AuthRateLimit"/> requests per <see cref="LegacyApiOptions.AuthRateWindow"/> per client
/// address (a sliding window through <see cref="IChatRateLimiter"/>, so with Redis the budget holds across the cluster).
/// Registered by <c>AddLegacyApi()</c>, required by <c>MapChitChatLegacy()</c> on its
/// register and login endpoints, and enforced by the rate limiter that <c>app.UseChitChat()</c> adds.
/// </summary>
/// <remarks>
/// A rejection answers as ChitChat 1 clients know it (429, <c>Retry-After</c>, no body, the CORS headers of an allowed
/// origin), not with the problem details of ChitChat's own API: the policy's <see cref="OnRejected"/> takes precedence over the
/// limiter's global one for the endpoints that name it, so the main API's rejections are unchanged. Its partitions are
/// separate from those of the main API's register/login policy: a client address has each budget once.
/// </remarks>
internal sealed class LegacyAuthRateLimitPolicy : IRateLimiterPolicy<string>
{
    /// <summary>The policy name.</summary>
    public const string Name = "ChitChat.Legacy.Auth";

    private readonly LegacyApiOptions _options;
    private readonly LegacyHttpApi _api;
    private readonly ILogger<LegacyHttpApi> _logger;
    private readonly IChatRateLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly RateLimitPolicy? _policy;

    public LegacyAuthRateLimitPolicy(IOptions<LegacyApiOptions> options, LegacyHttpApi api, IChatRateLimiter limiter, TimeProvider time, ILogger<LegacyHttpApi> logger)
    {
        _options = options.Value;
        _api = api;
        _limiter = limiter;
        _time = time;
        _logger = logger;
        _policy = _options.AuthRateLimit > 0 ? new RateLimitPolicy("legacy-auth", _options.AuthRateLimit, _options.AuthRateWindow) : null;
        OnRejected = RejectAsync;
    }

    /// <inheritdoc />
    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; }

    /// <inheritdoc />
    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        if (_policy is null)
        {
            return RateLimitPartition.GetNoLimiter("none");
        }

        // Per client address, through ChitChat's limiter: one budget across the cluster when it is shared (Redis). Behind a
        // proxy, configure ForwardedHeaders so that this is the client's address.
        var address = (httpContext.Connection.RemoteIpAddress ?? IPAddress.None).ToString();
        var policy = _policy;
        return RateLimitPartition.Get(address, key => new ChatRateLimiterAdapter(_limiter, policy, key, _time));
    }

    private ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        _api.ApplyCors(context);
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var delay) ? delay : _options.AuthRateWindow;
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        LegacyLog.BadRequest(_logger, context.Request.Path, "rate limited");
        return ValueTask.CompletedTask;
    }
}
