"""Group `labels`, one module per kind of label: `human` (Label Studio annotations, their
consensus and the annotators' quality), `weak` (the labeling functions' votes, their analysis,
the label model and the labeled set), `popularity` (the labels the logs give for free) and
`queue` (the photos a human should label next, published for Label Studio)."""
