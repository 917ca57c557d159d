using ChitChat.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public async Task Register_stores_the_user_with_a_hash_and_never_the_plain_password()
    {
        await using var h = await ChatHarness.CreateAsync();

        var user = await h.Accounts.RegisterAsync(new RegisterRequest("  Alice  ", "s3cret-password", " Alice ", "Liddell")).Timed();

        Assert.Equal("Alice", user.UserName);
        Assert.Equal("Alice", user.FirstName);
        Assert.Equal("Liddell", user.LastName);
        Assert.Equal(1, user.Version);
        Assert.DoesNotContain("s3cret-password", user.PasswordHash, StringComparison.Ordinal);
        Assert.StartsWith("pbkdf2-sha256$1000$", user.PasswordHash, StringComparison.Ordinal);
        var stored = await h.Store.Users.FindByIdAsync(user.Id).Timed();
        Assert.Equal(user, stored);
        Assert.True(h.Services.GetRequiredService<IPasswordHasher>().Verify(stored!.PasswordHash, "s3cret-password"));
    }

    [Fact]
    public async Task Two_users_with_one_password_get_different_hashes()
    {
        await using var h = await ChatHarness.CreateAsync();

        var a = await h.Accounts.RegisterAsync(new RegisterRequest("alice", "same-password")).Timed();
        var b = await h.Accounts.RegisterAsync(new RegisterRequest("bob", "same-password")).Timed();

        Assert.NotEqual(a.PasswordHash, b.PasswordHash);
        Assert.NotEqual(a.PasswordHash.Split('$')[2], b.PasswordHash.Split('$')[2]); // the salt
    }

    public static TheoryData<string?, string?, string?, string?, string> InvalidFields => new()
    {
        { null, "good-password", null, null, "userName" },
        { "", "good-password", null, null, "userName" },
        { "   ", "good-password", null, null, "userName" },
        { "ab", "good-password", null, null, "userName" },
        { new string('a', 33), "good-password", null, null, "userName" },
        { "has space", "good-password", null, null, "userName" },
        { "semi;colon", "good-password", null, null, "userName" },
        { "new\nline", "good-password", null, null, "userName" },
        { "bob", null, null, null, "password" },
        { "bob", "", null, null, "password" },
        { "bob", "short", null, null, "password" },
        { "bob", new string('p', 257), null, null, "password" },
        { "bob", "good-password", new string('f', 65), null, "firstName" },
        { "bob", "good-password", "Bo\u0001b", null, "firstName" },
        { "bob", "good-password", null, new string('l', 65), "lastName" },
        { "bob", "good-password", null, "Smi\u0007th", "lastName" },
    };

    [Theory]
    [MemberData(nameof(InvalidFields))]
    public async Task An_invalid_field_is_reported_under_its_key_and_nothing_is_stored(string? userName, string? password, string? firstName, string? lastName, string field)
    {
        await using var h = await ChatHarness.CreateAsync();

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.Accounts.RegisterAsync(new RegisterRequest(userName, password, firstName, lastName)));

        Assert.NotNull(ex.Errors);
        Assert.Equal([field], ex.Errors.Keys);
        Assert.NotEmpty(ex.Errors[field]);
        Assert.Null(await h.Store.Users.FindByNameAsync("bob").Timed());
        Assert.Equal(1, await h.Store.Replication.GetHeadPositionAsync().Timed()); // only the default room was ever written
    }

    [Fact]
    public async Task Every_invalid_field_is_reported_at_once()
    {
        await using var h = await ChatHarness.CreateAsync();

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.Accounts.RegisterAsync(new RegisterRequest("x", "y", new string('f', 100), "\u0000")));

        Assert.Equal(["firstName", "lastName", "password", "userName"], ex.Errors!.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task User_name_limits_come_from_the_options()
    {
        await using var h = await ChatHarness.CreateAsync(o => (o.MinUserNameLength, o.MaxUserNameLength, o.MinPasswordLength) = (5, 6, 12));

        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.Accounts.RegisterAsync(new RegisterRequest("abcd", "long-enough-pw")));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.Accounts.RegisterAsync(new RegisterRequest("abcdefg", "long-enough-pw")));
        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.Accounts.RegisterAsync(new RegisterRequest("abcde", "eleven-char")));
        var user = await h.Accounts.RegisterAsync(new RegisterRequest("abcdef", "long-enough-pw")).Timed();
        Assert.Equal("abcdef", user.UserName);
    }

    [Fact]
    public async Task User_names_are_unique_ignoring_case()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.Accounts.RegisterAsync(new RegisterRequest("Alice", "first-password")).Timed();

        await Wait.ChatErrorAsync(ChatErrorCodes.UserExists, () => h.Accounts.RegisterAsync(new RegisterRequest("alice", "second-password")));
        await Wait.ChatErrorAsync(ChatErrorCodes.UserExists, () => h.Accounts.RegisterAsync(new RegisterRequest("ALICE", "second-password")));

        var stored = await h.Store.Users.FindByNameAsync("aLiCe").Timed();
        Assert.Equal(alice.Id, stored!.Id);
        Assert.Equal("Alice", stored.UserName);
        Assert.Equal(alice, await h.Accounts.VerifyCredentialsAsync("alice", "first-password").Timed());
        await Wait.ChatErrorAsync(ChatErrorCodes.InvalidCredentials, () => h.Accounts.VerifyCredentialsAsync("alice", "second-password"));
    }

    [Fact]
    public async Task Right_credentials_return_the_user_in_any_case_of_the_name()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.Accounts.RegisterAsync(new RegisterRequest("Alice", "the-password")).Timed();

        Assert.Equal(alice, await h.Accounts.VerifyCredentialsAsync("Alice", "the-password").Timed());
        Assert.Equal(alice, await h.Accounts.VerifyCredentialsAsync(" alice ", "the-password").Timed());
    }

    public static TheoryData<string?, string?> WrongCredentials => new()
    {
        { "Alice", "wrong-password" },
        { "Alice", "THE-PASSWORD" },
        { "Alice", "the-password " },
        { "Alice", "" },
        { "Alice", null },
        { "nobody", "the-password" },
        { "", "the-password" },
        { null, "the-password" },
        { new string('a', 33), "the-password" },
        { "Alice", "the-password" + new string('x', 300) },
    };

    [Theory]
    [MemberData(nameof(WrongCredentials))]
    public async Task Wrong_credentials_are_invalid_credentials(string? userName, string? password)
    {
        await using var h = await ChatHarness.CreateAsync();
        await h.Accounts.RegisterAsync(new RegisterRequest("Alice", "the-password")).Timed();

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.InvalidCredentials, () => h.Accounts.VerifyCredentialsAsync(userName, password));

        Assert.Null(ex.Errors);
    }

    [Fact]
    public async Task An_unknown_user_costs_one_verification_at_the_configured_work_factor()
    {
        // Login must take as long for an unknown user as for a wrong password, so the dummy verification must use
        // the configured iteration count, not a cheap fixed one.
        RecordingHasher? recorder = null;
        await using var h = await ChatHarness.CreateAsync(
            o => o.PasswordHashIterations = 2345,
            s =>
            {
                s.RemoveAll<IPasswordHasher>();
                s.AddSingleton<IPasswordHasher>(sp => recorder = new RecordingHasher(new Pbkdf2PasswordHasher(sp.GetRequiredService<IOptions<ChitChatOptions>>())));
            });
        var alice = await h.Accounts.RegisterAsync(new RegisterRequest("alice", "the-password")).Timed();

        await Wait.ChatErrorAsync(ChatErrorCodes.InvalidCredentials, () => h.Accounts.VerifyCredentialsAsync("alice", "wrong-password"));
        await Wait.ChatErrorAsync(ChatErrorCodes.InvalidCredentials, () => h.Accounts.VerifyCredentialsAsync("nobody", "wrong-password"));
        await Wait.ChatErrorAsync(ChatErrorCodes.InvalidCredentials, () => h.Accounts.VerifyCredentialsAsync("alice", new string('x', 1000)));

        var verified = recorder!.VerifiedHashes;
        Assert.Equal(3, verified.Count);
        Assert.Equal(alice.PasswordHash, verified[0]);
        Assert.All(verified, hash => Assert.Equal("2345", hash.Split('$')[1]));
    }
}
