namespace ChitChat.RateLimiting;

/// <summary>
/// Limits how often a key (a user id, a client address) may do something: at most <see cref="PermitLimit"/> permits in any
/// <see cref="Window"/> (a sliding window). Policies with different names count separately.
/// </summary>
public sealed record RateLimitPolicy
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="name">The policy name, e.g. <c>send</c> or <c>auth</c>: letters, digits, <c>.</c>, <c>_</c> and <c>-</c> (it is part of storage keys).</param>
    /// <param name="permitLimit">How many permits a key gets per <paramref name="window"/>; at least 1.</param>
    /// <param name="window">The length of the sliding window; positive.</param>
    /// <exception cref="ArgumentException">An argument is out of range.</exception>
    public RateLimitPolicy(string name, int permitLimit, TimeSpan window)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new ArgumentException("A rate limit policy name has 1 to 64 letters, digits, '.', '_' or '-'.", nameof(name));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(permitLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        Name = name;
        PermitLimit = permitLimit;
        Window = window;
    }

    /// <summary>Gets the policy name.</summary>
    public string Name { get; }

    /// <summary>Gets how many permits a key gets per <see cref="Window"/>.</summary>
    public int PermitLimit { get; }

    /// <summary>Gets the length of the sliding window.</summary>
    public TimeSpan Window { get; }
}

/// <summary>The answer of <see cref="IChatRateLimiter.AcquireAsync"/>.</summary>
/// <param name="IsAllowed"><see langword="true"/> when the permit was granted (and counted).</param>
/// <param name="RetryAfter">When refused, how long until a permit frees up: in (0, window]; <see cref="TimeSpan.Zero"/> when allowed.</param>
public readonly record struct RateLimitDecision(bool IsAllowed, TimeSpan RetryAfter)
{
    /// <summary>Gets a granted decision.</summary>
    public static RateLimitDecision Allowed => new(true, TimeSpan.Zero);

    /// <summary>Creates a refusal.</summary>
    /// <param name="retryAfter">How long until a permit frees up.</param>
    /// <returns>The decision.</returns>
    public static RateLimitDecision Refused(TimeSpan retryAfter) => new(false, retryAfter);
}

/// <summary>
/// Rate limits of ChitChat (sends per user, register/login per client address). The default,
/// <see cref="InMemoryChatRateLimiter"/>, counts per process; <c>ChitChat.Redis</c> replaces it with one that counts on Redis,
/// so that a limit holds across every node of a cluster.
/// </summary>
public interface IChatRateLimiter
{
    /// <summary>
    /// Takes one permit for <paramref name="key"/> under <paramref name="policy"/> if the key has fewer than
    /// <see cref="RateLimitPolicy.PermitLimit"/> granted in the last <see cref="RateLimitPolicy.Window"/>. A refusal is not
    /// counted. Implementations never throw for a backend that is unreachable: they fall back to a local limit.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="key">What is limited, e.g. a user id or an IP address.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The decision.</returns>
    ValueTask<RateLimitDecision> AcquireAsync(RateLimitPolicy policy, string key, CancellationToken cancellationToken = default);
}
