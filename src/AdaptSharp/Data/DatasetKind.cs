namespace AdaptSharp.Data;

/// <summary>The on-disk dataset formats AdaptSharp reads.</summary>
public enum DatasetKind
{
    FashionMnist,
    Mnist,
    Cifar10,
    Cifar100,
    ImageFolder,
}
