"""Pure analysis functions behind the dashboard and the notebooks: numpy in, numpy out.

Import the module you need; nothing is imported here, so that reading an upload does not pay
for the memory analyses, and the other way round.

    inputs       decode and check clips (GIF, MP4, ZIP of frames, .npy)
    probe        clips of known motion: chosen digits, direction and speed
    probe_sweep  which slots each motion of a directions x speeds grid recalls
    rollout      one rollout with per-frame scores, the copy-last and all-zero baselines, other
                 methods' files
    recall       what the memory recalls for one clip, per query cell
    alignment    long-term context against short input addressing
    slots        what each memory slot stands for
    projection   slots and queries in two dimensions
    intervention predictions with the memory's recall replaced
    dataset_pass the memory's addressing over a whole set of clips, cached
    search       the (clip, cell) pairs of a pass by top slot, true motion, digit and place, paged
    compare      two memories over the same clips, and what differs between them, in words
"""
