namespace AdaptSharp.Study;

/// <summary>Names of the study's tables.</summary>
internal static class StudyGroups
{
    public const string Main = "main";
    public const string PromptLength = "prompt-length";
    public const string PromptMode = "prompt-mode";
    public const string Lambda = "lambda";
    public const string Patch = "patch";
    public const string Seeds = "seeds";
}
