"""The roadmap's ids, in order, as the catalog must hold them."""

IDS = [
    *("s0.env", "s0.titanic", "s0.ci"),
    *("s1.pca", "s1.logreg", "s1.theory", "s1.writeup"),
    *("s2.theory", "s2.metrics", "s2.tuning", "s2.house", "s2.churn", "s2.serve"),
    *("s3.autodiff", "s3.layers", "s3.optim", "s3.regularize", "s3.cnn", "s3.rnn"),
    *("s3.resnet18", "s3.poetry", "s3.distill"),
    *("s4.detect", "s4.segment", "s4.deploy", "s4.transformer", "s4.mlm", "s4.ner"),
    *("s4.clip", "s4.dreambooth", "s4.rlhf", "s4.report"),
    *("s5.versioning", "s5.tracking", "s5.pipeline", "s5.monitor", "s5.serving"),
    *("s5.stream", "s5.infra"),
    *("s6.leetcode", "s6.sysdesign", "s6.resume", "s6.opensource"),
]
