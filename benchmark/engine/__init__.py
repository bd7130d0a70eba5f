"""The engine: plan -> embed -> score -> record, ``run`` that chains them for a generator, and ``bench score``
(a folder of faces), ``bench trials`` and ``bench embed`` built on the same steps."""
