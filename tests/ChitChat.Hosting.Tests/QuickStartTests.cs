using System.Text.RegularExpressions;

namespace ChitChat.Hosting.Tests;

/// <summary>
/// The README's "Quick start for library users", exactly as written: the libraries packed with a version unique to this
/// run into a local feed, a new <c>dotnet new web</c> project outside the repository that adds the packages the README
/// names, its <c>Program.cs</c> replaced by the README's C# block; started, it must register, log in and send a message.
/// </summary>
public sealed partial class QuickStartTests : IDisposable
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private readonly TempDir _dir = new("chitchat-quickstart-");
    private readonly LocalFeed _feed;

    public QuickStartTests() => _feed = new LocalFeed(_dir.Path, "qs");

    public void Dispose()
    {
        _feed.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task The_README_quick_start_runs_from_packed_packages_and_a_user_registers_logs_in_and_sends()
    {
        var section = Repository.ReadmeSection("Quick start for library users");
        var program = Repository.CodeBlocks(section, "csharp").FirstOrDefault();
        Assert.True(program is not null, "the quick start has no csharp block");
        var commands = string.Join("\n", Repository.CodeBlocks(section, "bash"));
        var template = NewCommand().Match(commands);
        Assert.True(template.Success, "the quick start creates no project with 'dotnet new'");
        var packages = AddPackage().Matches(commands).Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(packages);

        await _feed.PackAsync(packages, PackTimeout);

        // The user's project: outside the repository, its MSBuild and NuGet settings only its own.
        _feed.WriteUserSettings(_dir.Path);
        await ProcessRunner.RunAsync(ProcessRunner.Dotnet(_dir.Path, "new", template.Groups[1].Value, "-o", "app", "--no-restore"), "dotnet new", CommandTimeout);
        var app = Path.Combine(_dir.Path, "app");
        foreach (var package in packages)
        {
            await ProcessRunner.RunAsync(ProcessRunner.Dotnet(app, "add", "package", package, "--version", _feed.Version), $"dotnet add package {package}", CommandTimeout);
        }

        File.WriteAllText(Path.Combine(app, "Program.cs"), program);
        await ProcessRunner.RunAsync(ProcessRunner.Dotnet(app, "build", "-nologo"), "dotnet build of the quick start", CommandTimeout);

        await using var server = await AppProcess.StartAsync(app, "the quick start app", StartTimeout);
        using var http = await ChatApi.SignUpAsync(server, "alice", "secret123");
        await ChatApi.SendAndReadBackAsync(http, server, "global", "hello from the quick start", "alice");
    }

    [GeneratedRegex(@"^\s*dotnet new (\w+)", RegexOptions.Multiline)]
    private static partial Regex NewCommand();

    [GeneratedRegex(@"dotnet add package (ChitChat[\w.]*)")]
    private static partial Regex AddPackage();
}
