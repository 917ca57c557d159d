using System.Text.RegularExpressions;

namespace ChitChat.Hosting.Tests;

/// <summary>The repository this test build came from, and what its README says.</summary>
internal static partial class Repository
{
    /// <summary>Gets the repository root (the directory holding <c>ChitChat.sln</c>).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Returns the text of a <c>## heading</c> section of the README, up to the next <c>## </c> heading.</summary>
    public static string ReadmeSection(string heading) => MarkdownSection("README.md", heading);

    /// <summary>Returns the text of a <c>## heading</c> section of a Markdown file of the repository, up to the next <c>## </c> heading.</summary>
    public static string MarkdownSection(string relativePath, string heading)
    {
        var text = File.ReadAllText(Path.Combine(Root, relativePath)).ReplaceLineEndings("\n");
        var start = text.IndexOf("\n## " + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{relativePath} has no '## {heading}' section");
        var end = text.IndexOf("\n## ", start + 4, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    /// <summary>Returns the version <c>Directory.Packages.props</c> pins for a package.</summary>
    public static string PinnedVersion(string packageId)
    {
        var props = File.ReadAllText(Path.Combine(Root, "Directory.Packages.props"));
        var match = Regex.Match(props, "<PackageVersion Include=\"" + Regex.Escape(packageId) + "\" Version=\"([^\"]+)\"");
        Assert.True(match.Success, $"Directory.Packages.props pins no version of {packageId}");
        return match.Groups[1].Value;
    }

    /// <summary>Returns the fenced code blocks of a language in a piece of Markdown.</summary>
    public static IReadOnlyList<string> CodeBlocks(string markdown, string language) =>
        [.. Regex.Matches(markdown, "```" + Regex.Escape(language) + "\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value)];

    /// <summary>Returns the ChitChat projects under <c>src/</c> that <paramref name="packageId"/> needs, itself included.</summary>
    public static IReadOnlySet<string> WithProjectDependencies(IEnumerable<string> packageIds)
    {
        var all = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(packageIds);
        while (pending.TryPop(out var id))
        {
            var project = ProjectFile(id);
            Assert.True(File.Exists(project), $"package {id} has no project: {project} does not exist");
            if (!all.Add(id))
            {
                continue;
            }

            foreach (Match reference in ProjectReference().Matches(File.ReadAllText(project)))
            {
                pending.Push(reference.Groups[1].Value);
            }
        }

        return all;
    }

    /// <summary>Returns the project file of a library under <c>src/</c>.</summary>
    public static string ProjectFile(string id) => Path.Combine(Root, "src", id, id + ".csproj");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ChitChat.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No ChitChat.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex("""ProjectReference\s+Include="\.\./(ChitChat[\w.]*)/""")]
    private static partial Regex ProjectReference();
}
