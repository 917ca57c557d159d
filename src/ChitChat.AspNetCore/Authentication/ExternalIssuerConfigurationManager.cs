using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace ChitChat.AspNetCore.Authentication;

/// <summary>
/// The external issuer's discovery document and JWKS (<c>ChitChat:Auth:Authority</c>), cached and fetched again after
/// <see cref="BaseConfigurationManager.AutomaticRefreshInterval"/>, or at once when a token names an unknown key id.
/// </summary>
/// <remarks>
/// Differs from IdentityModel's <c>ConfigurationManager</c> in two ways that make key rotation deterministic: a requested
/// refresh is done by the next read, which waits for it (IdentityModel refreshes in the background, so the request that
/// met the new key id still fails), and the rate limit counts only requested refreshes (at most one per
/// <see cref="BaseConfigurationManager.RefreshInterval"/>), not the first fetch. The token handler requests a refresh
/// when a signature key is not found and validates once more with what the refresh returned: a key rotated into the JWKS
/// is accepted on its first use, a key taken out of it stops working then, and tokens with made-up key ids cost at most
/// one fetch per interval. Until the first document is read, a failed read is retried at most every 10 seconds (requests
/// in between fail at once). No last-known-good fallback: a removed key is not accepted from an older document.
/// </remarks>
internal sealed partial class ExternalIssuerConfigurationManager : BaseConfigurationManager, IConfigurationManager<OpenIdConnectConfiguration>
{
    private readonly HttpDocumentRetriever _retriever;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _fetch = new(1, 1);
    private readonly Lock _gate = new();
    private OpenIdConnectConfiguration? _current;
    private DateTimeOffset _refreshAt = DateTimeOffset.MinValue;
    private DateTimeOffset _lastRequestedRefresh = DateTimeOffset.MinValue;
    private DateTimeOffset _retryFirstFetchAt = DateTimeOffset.MinValue;
    private Exception? _firstFetchFailure;

    /// <summary>How long, before any document was read, a failed read is reported without trying again.</summary>
    private static readonly TimeSpan FirstFetchRetryDelay = TimeSpan.FromSeconds(10);

    public ExternalIssuerConfigurationManager(string metadataAddress, bool requireHttps, HttpClient http, TimeProvider time, ILogger logger)
    {
        MetadataAddress = metadataAddress;
        UseLastKnownGoodConfiguration = false;
        _retriever = new HttpDocumentRetriever(http) { RequireHttps = requireHttps };
        _time = time;
        _logger = logger;
    }

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        if (TryGetFresh(out var fresh))
        {
            return fresh;
        }

        await _fetch.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            // Another request may have fetched it while this one waited.
            if (TryGetFresh(out fresh))
            {
                return fresh;
            }

            OpenIdConnectConfiguration? stale;
            lock (_gate)
            {
                stale = _current;
                if (stale is null && _firstFetchFailure is not null && _time.GetUtcNow() < _retryFirstFetchAt)
                {
                    // The issuer could not be reached a moment ago: do not make every request wait for it again.
                    throw new InvalidOperationException($"The discovery document of the external issuer ({MetadataAddress}) could not be read.", _firstFetchFailure);
                }
            }

            try
            {
                // Not the caller's token: one fetch serves every waiting request.
                var configuration = await OpenIdConnectConfigurationRetriever.GetAsync(MetadataAddress, _retriever, CancellationToken.None).ConfigureAwait(false);
                lock (_gate)
                {
                    _current = configuration;
                    _refreshAt = _time.GetUtcNow() + AutomaticRefreshInterval;
                }

                LogFetched(_logger, configuration.Issuer ?? "(none)", configuration.SigningKeys.Count);
                return configuration;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFetchFailed(_logger, MetadataAddress, ex);
                if (stale is null)
                {
                    lock (_gate)
                    {
                        _firstFetchFailure = ex;
                        _retryFirstFetchAt = _time.GetUtcNow() + FirstFetchRetryDelay;
                    }

                    throw new InvalidOperationException($"The discovery document of the external issuer ({MetadataAddress}) could not be read.", ex);
                }

                // Stale keys are better than none: try again after RefreshInterval.
                lock (_gate)
                {
                    _refreshAt = _time.GetUtcNow() + RefreshInterval;
                }

                return stale;
            }
        }
        finally
        {
            _fetch.Release();
        }
    }

    public override async Task<BaseConfiguration> GetBaseConfigurationAsync(CancellationToken cancel) =>
        await GetConfigurationAsync(cancel).ConfigureAwait(false);

    public override void RequestRefresh()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_current is not null && now - _lastRequestedRefresh >= RefreshInterval)
            {
                _lastRequestedRefresh = now;
                _refreshAt = DateTimeOffset.MinValue;
            }
        }
    }

    private bool TryGetFresh(out OpenIdConnectConfiguration configuration)
    {
        lock (_gate)
        {
            configuration = _current!;
            return _current is not null && _time.GetUtcNow() < _refreshAt;
        }
    }

    [LoggerMessage(EventId = 6004, EventName = "ExternalMetadataFetched", Level = LogLevel.Information,
        Message = "Read the discovery document and JWKS of the external issuer {Issuer}: {KeyCount} signing keys.")]
    private static partial void LogFetched(ILogger logger, string issuer, int keyCount);

    [LoggerMessage(EventId = 6005, EventName = "ExternalMetadataFailed", Level = LogLevel.Warning,
        Message = "The discovery document or JWKS of the external issuer could not be read from {MetadataAddress}.")]
    private static partial void LogFetchFailed(ILogger logger, string metadataAddress, Exception exception);
}
