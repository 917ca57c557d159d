using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace ChitChat.AspNetCore.Authentication;

/// <summary>
/// Holds the token signing key: the configured <c>ChitChat:Auth:SigningKey</c>, or, only in Development (the options
/// validator refuses a missing key elsewhere), a random per-process key announced by a warning.
/// </summary>
internal sealed partial class SigningKeyProvider
{
    public SigningKeyProvider(IOptions<ChitChatAspNetCoreOptions> options, ILogger<SigningKeyProvider> logger)
    {
        var configured = options.Value.Auth.SigningKey;
        if (string.IsNullOrEmpty(configured))
        {
            Key = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(64)) { KeyId = "dev-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)) };
            IsGenerated = true;
            LogGeneratedKey(logger);
        }
        else
        {
            Key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(configured));
        }
    }

    /// <summary>Gets the signing and validation key.</summary>
    public SymmetricSecurityKey Key { get; }

    /// <summary>Gets a value indicating whether the key was generated for this process.</summary>
    public bool IsGenerated { get; }

    [LoggerMessage(EventId = 6001, EventName = "GeneratedSigningKey", Level = LogLevel.Warning,
        Message = "ChitChat:Auth:SigningKey is not set: using a random signing key for this process (Development only). Tokens stop working when the process restarts and are not accepted by other nodes. Set ChitChat:Auth:SigningKey (at least 32 bytes) to keep them.")]
    private static partial void LogGeneratedKey(ILogger logger);
}
