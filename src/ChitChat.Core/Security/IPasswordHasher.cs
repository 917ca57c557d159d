using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace ChitChat.Security;

/// <summary>Hashes and verifies passwords.</summary>
public interface IPasswordHasher
{
    /// <summary>Hashes a password with a fresh random salt.</summary>
    /// <param name="password">The password.</param>
    /// <returns>A self-describing hash string (algorithm, parameters, salt, hash).</returns>
    string Hash(string password);

    /// <summary>Verifies a password against a hash in constant time.</summary>
    /// <param name="hash">The stored hash.</param>
    /// <param name="password">The password to check.</param>
    /// <returns><see langword="true"/> when they match.</returns>
    bool Verify(string hash, string password);
}

/// <summary>
/// PBKDF2-HMAC-SHA256 from the BCL with a 128-bit per-user salt and a 256-bit key. The iteration count comes from
/// <see cref="ChitChatOptions.PasswordHashIterations"/> and is stored in every hash, so raising it later keeps old hashes valid.
/// Format: <c>pbkdf2-sha256$iterations$salt$key</c> (base64).
/// </summary>
/// <param name="options">The options.</param>
public sealed class Pbkdf2PasswordHasher(IOptions<ChitChatOptions> options) : IPasswordHasher
{
    private const string Prefix = "pbkdf2-sha256";
    private const int SaltSize = 16;
    private const int KeySize = 32;

    // Bounds on what a stored hash may ask for, so that a tampered or planted hash cannot make Verify throw or pin a core:
    // the iteration cap matches the largest value ChitChatOptions.PasswordHashIterations accepts.
    private const int MaxIterations = 10_000_000;
    private const int MinKeySize = 16;
    private const int MaxKeySize = 64;

    /// <inheritdoc />
    public string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var iterations = options.Value.PasswordHashIterations;
        Span<byte> salt = stackalloc byte[SaltSize];
        RandomNumberGenerator.Fill(salt);
        Span<byte> key = stackalloc byte[KeySize];
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, key, iterations, HashAlgorithmName.SHA256);
        return string.Join('$', Prefix, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(key));
    }

    /// <inheritdoc />
    public bool Verify(string hash, string password)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(password);
        var parts = hash.Split('$');
        if (parts.Length != 4 || parts[0] != Prefix
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations is < 1 or > MaxIterations)
        {
            return false;
        }

        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }

        if (expected.Length is < MinKeySize or > MaxKeySize)
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
