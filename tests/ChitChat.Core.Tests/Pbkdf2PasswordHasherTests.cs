using ChitChat.Security;
using Microsoft.Extensions.Options;

namespace ChitChat.Core.Tests;

public sealed class Pbkdf2PasswordHasherTests
{
    private static Pbkdf2PasswordHasher Hasher(int iterations = 1000) =>
        new(Options.Create(new ChitChatOptions { PasswordHashIterations = iterations }));

    [Fact]
    public void The_right_password_verifies_and_a_wrong_one_does_not()
    {
        var hasher = Hasher();
        var hash = hasher.Hash("correct horse battery staple");

        Assert.True(hasher.Verify(hash, "correct horse battery staple"));
        Assert.False(hasher.Verify(hash, "correct horse battery stapl"));
        Assert.False(hasher.Verify(hash, "Correct horse battery staple"));
        Assert.False(hasher.Verify(hash, ""));
    }

    [Fact]
    public void Non_ascii_passwords_round_trip()
    {
        var hasher = Hasher();
        var hash = hasher.Hash("pässwörd-密码-\U0001F511");

        Assert.True(hasher.Verify(hash, "pässwörd-密码-\U0001F511"));
        Assert.False(hasher.Verify(hash, "passwort-密码-\U0001F511"));
    }

    [Fact]
    public void The_format_carries_algorithm_iterations_salt_and_key()
    {
        var hash = Hasher(1234).Hash("password");

        var parts = hash.Split('$');
        Assert.Equal(4, parts.Length);
        Assert.Equal("pbkdf2-sha256", parts[0]);
        Assert.Equal("1234", parts[1]);
        Assert.Equal(16, Convert.FromBase64String(parts[2]).Length);
        Assert.Equal(32, Convert.FromBase64String(parts[3]).Length);
    }

    [Fact]
    public void Every_hash_gets_a_fresh_salt()
    {
        var hasher = Hasher();

        var hashes = Enumerable.Range(0, 20).Select(_ => hasher.Hash("same password")).ToArray();

        Assert.Equal(20, hashes.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(20, hashes.Select(h => h.Split('$')[2]).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Raising_the_iteration_count_keeps_old_hashes_valid()
    {
        var old = Hasher(1000).Hash("password");

        var upgraded = Hasher(5000);

        Assert.True(upgraded.Verify(old, "password"));
        Assert.StartsWith("pbkdf2-sha256$5000$", upgraded.Hash("password"), StringComparison.Ordinal);
    }

    [Fact]
    public void Changing_the_iterations_stored_in_a_hash_makes_it_fail()
    {
        var hasher = Hasher(1000);
        var parts = hasher.Hash("password").Split('$');

        parts[1] = "1001";

        Assert.False(hasher.Verify(string.Join('$', parts), "password"));
    }

    public static TheoryData<string> TamperedHashes()
    {
        var parts = Hasher().Hash("password").Split('$');
        var (salt, key) = (parts[2], parts[3]);
        var flippedKey = (key[0] == 'A' ? 'B' : 'A') + key[1..];
        return new TheoryData<string>
        {
            "",
            "password",
            "$$$",
            $"pbkdf2-sha256$1000${salt}",
            $"pbkdf2-sha256$1000${salt}${key}$extra",
            $"pbkdf2-sha512$1000${salt}${key}",
            $"PBKDF2-SHA256$1000${salt}${key}",
            $"pbkdf2-sha256$$salt${key}",
            $"pbkdf2-sha256$abc${salt}${key}",
            $"pbkdf2-sha256$0${salt}${key}",
            $"pbkdf2-sha256$-1000${salt}${key}",
            $"pbkdf2-sha256$+1000${salt}${key}",
            $"pbkdf2-sha256$ 1000${salt}${key}",
            $"pbkdf2-sha256$99999999999${salt}${key}",
            $"pbkdf2-sha256$1000$not base64!${key}",
            $"pbkdf2-sha256$1000${salt}$not base64!",
            $"pbkdf2-sha256$1000${salt}$",
            $"pbkdf2-sha256$1000$${key}",
            $"pbkdf2-sha256$1000${salt}${flippedKey}",
            $"pbkdf2-sha256$1000${salt}${key[..8]}",
            $"pbkdf2-sha256$1000${key}${salt}",
            // An attacker-planted hash with an absurd work factor must not pin a CPU core: it is rejected, not computed.
            $"pbkdf2-sha256$2147483647${salt}${key}",
        };
    }

    [Theory]
    [MemberData(nameof(TamperedHashes))]
    public void A_tampered_hash_is_false_not_an_exception(string hash) =>
        Assert.False(Hasher().Verify(hash, "password"));

    [Fact]
    public void Null_arguments_are_rejected_by_name()
    {
        var hasher = Hasher();

        Assert.Equal("password", Assert.Throws<ArgumentNullException>(() => hasher.Hash(null!)).ParamName);
        Assert.Equal("hash", Assert.Throws<ArgumentNullException>(() => hasher.Verify(null!, "x")).ParamName);
        Assert.Equal("password", Assert.Throws<ArgumentNullException>(() => hasher.Verify("x", null!)).ParamName);
    }
}
