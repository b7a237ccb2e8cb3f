-- A document's raw bytes in parts of up to 1 MiB, so a long return is written (and read back)
-- without holding it whole. Documents recorded before this keep their bytes in documents.bytes;
-- later ones leave that empty and have their parts here. PostgreSQL flavour.
CREATE TABLE document_parts (
    document_id         BIGINT NOT NULL REFERENCES documents (id),
    part                INTEGER NOT NULL,
    bytes               BYTEA NOT NULL,
    PRIMARY KEY (document_id, part)
);
