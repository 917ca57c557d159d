using ChitChat.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

/// <summary><see cref="AccountService.SignInExternalAsync"/>: users of an external issuer, created on first sight.</summary>
public sealed class ExternalIdentityAccountTests
{
    private const string Issuer = "https://login.example.test/tenant";

    [Fact]
    public async Task First_sight_creates_the_user_once_and_later_sign_ins_return_it_unchanged()
    {
        await using var h = await ChatHarness.CreateAsync();

        var first = await h.Accounts.SignInExternalAsync(Issuer, "subject-1", "  Dana  ").Timed();
        Assert.Equal("Dana", first.UserName);
        Assert.Equal(AccountService.ExternalUserId(Issuer, "subject-1"), first.Id);
        Assert.Equal(AccountService.ExternalUserPasswordHash, first.PasswordHash);
        Assert.Equal(1, first.Version);
        Assert.Equal(first, await h.Store.Users.FindByNameAsync("dana").Timed());

        // The same identity again, even with another name at the issuer: the same user, nothing created or renamed.
        var again = await h.Accounts.SignInExternalAsync(Issuer, "subject-1", "dana_renamed").Timed();
        Assert.Equal(first, again);
        Assert.Null(await h.Store.Users.FindByNameAsync("dana_renamed").Timed());
    }

    [Fact]
    public void External_user_ids_are_version_5_uuids_of_issuer_and_subject()
    {
        var id = AccountService.ExternalUserId(Issuer, "subject-1");
        Assert.Equal(id, AccountService.ExternalUserId(Issuer, "subject-1"));
        Assert.Equal(5, id.Version);
        Assert.Equal(0b10, id.Variant >> 2);
        Assert.NotEqual(id, AccountService.ExternalUserId(Issuer, "subject-2"));
        Assert.NotEqual(id, AccountService.ExternalUserId(Issuer + "/other", "subject-1"));

        // The separator keeps (issuer, subject) pairs apart that concatenate alike.
        Assert.NotEqual(AccountService.ExternalUserId("https://a", "bc"), AccountService.ExternalUserId("https://ab", "c"));
    }

    [Fact]
    public async Task A_name_held_by_another_account_is_forbidden_and_that_account_is_untouched()
    {
        await using var h = await ChatHarness.CreateAsync();
        var local = await h.Accounts.RegisterAsync(new RegisterRequest("erin", "the-password")).Timed();
        var fromOtherIssuer = await h.Accounts.SignInExternalAsync("https://other.example", "x", "frank").Timed();

        var clash = await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.Accounts.SignInExternalAsync(Issuer, "erin-at-the-issuer", "ERIN"));
        Assert.Contains("belongs to another ChitChat account", clash.Message, StringComparison.Ordinal);

        // The same subject at another issuer is another identity: it does not get that issuer's user either.
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.Accounts.SignInExternalAsync(Issuer, "x", "frank"));

        Assert.Equal(local, await h.Store.Users.FindByNameAsync("erin").Timed());
        Assert.Equal(fromOtherIssuer, await h.Store.Users.FindByNameAsync("frank").Timed());
        Assert.Equal(local, await h.Accounts.VerifyCredentialsAsync("erin", "the-password").Timed());
        Assert.Null(await h.Store.Users.FindByIdAsync(AccountService.ExternalUserId(Issuer, "erin-at-the-issuer")).Timed());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ab")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task An_invalid_name_of_a_new_external_user_is_forbidden(string? name)
    {
        await using var h = await ChatHarness.CreateAsync();
        await Wait.ChatErrorAsync(ChatErrorCodes.Forbidden, () => h.Accounts.SignInExternalAsync(Issuer, "subject", name));
        Assert.Null(await h.Store.Users.FindByIdAsync(AccountService.ExternalUserId(Issuer, "subject")).Timed());
    }

    [Fact]
    public async Task A_missing_issuer_or_subject_is_unauthorized()
    {
        await using var h = await ChatHarness.CreateAsync();
        await Wait.ChatErrorAsync(ChatErrorCodes.Unauthorized, () => h.Accounts.SignInExternalAsync("", "subject", "gina"));
        await Wait.ChatErrorAsync(ChatErrorCodes.Unauthorized, () => h.Accounts.SignInExternalAsync(Issuer, "", "gina"));
        Assert.Null(await h.Store.Users.FindByNameAsync("gina").Timed());
    }

    [Fact]
    public async Task External_users_cannot_log_in_with_a_password_even_if_the_hasher_accepts_anything()
    {
        RecordingHasher? recorder = null;
        await using var h = await ChatHarness.CreateAsync(services: s =>
        {
            s.RemoveAll<IPasswordHasher>();
            s.AddSingleton<IPasswordHasher>(_ => recorder = new RecordingHasher(new AcceptingHasher()));
        });
        var user = await h.Accounts.SignInExternalAsync(Issuer, "subject", "hank").Timed();

        await Wait.ChatErrorAsync(ChatErrorCodes.InvalidCredentials, () => h.Accounts.VerifyCredentialsAsync("hank", "anything"));
        await Wait.ChatErrorAsync(ChatErrorCodes.InvalidCredentials, () => h.Accounts.VerifyCredentialsAsync("hank", AccountService.ExternalUserPasswordHash));

        // Still one verification per attempt (same cost as a wrong password), never against the external marker.
        Assert.Equal(2, recorder!.VerifiedHashes.Count);
        Assert.DoesNotContain(user.PasswordHash, recorder.VerifiedHashes);
    }

    private sealed class AcceptingHasher : IPasswordHasher
    {
        public string Hash(string password) => "accepting$" + password.Length;

        public bool Verify(string hash, string password) => true;
    }
}
