namespace AdaptSharp.Data;

/// <summary>Which half of a dataset to read. For an ImageFolder, Test is the val/ (or test/) folder.</summary>
public enum DatasetSplit
{
    Train,
    Test,
}
