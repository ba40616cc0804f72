"""Studies: what optimizers record (studies, evaluations, fronts, analyses) and what is read back.

``records``/``columns`` validate a batch, ``writer``/``derive`` write it and what follows from it,
``queries``/``exports``/``experiments`` read, ``monte_carlo``/``importance`` analyse, and ``service``
is the public ``DatabaseMetadataService`` over all of them."""
