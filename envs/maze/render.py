"""Pictures of a maze for people: ASCII for terminals and logs, RGB arrays and PNGs for reports.

Rendering is the privileged, whole-maze view (it shows the goal even when the agent has not seen
it); it is meant for humans and must never be fed to a policy.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import numpy.typing as npt
from PIL import Image

from envs.maze.generator import Cell, Maze

BoolGrid = npt.NDArray[np.bool_]

# Palette indices for the RGB image, one colour per kind of block.
_WALL, _UNSEEN, _SEEN, _VISIBLE, _GOAL, _AGENT = range(6)
_PALETTE = np.array(
    [
        (40, 40, 48),  # wall
        (150, 150, 150),  # open, never seen by the agent
        (245, 245, 245),  # open, seen before
        (255, 240, 170),  # open, visible now
        (40, 170, 70),  # goal cell
        (210, 50, 50),  # agent
    ],
    dtype=np.uint8,
)


def visibility_mask(maze: Maze, centres: list[Cell] | tuple[Cell, ...], radius: int) -> BoolGrid:
    """Cells within Chebyshev ``radius`` of any of ``centres``, as an ``(height, width)`` mask."""
    mask = np.zeros((maze.height, maze.width), dtype=np.bool_)
    for r, c in centres:
        mask[max(0, r - radius) : r + radius + 1, max(0, c - radius) : c + radius + 1] = True
    return mask


def _block_mask(cells: BoolGrid) -> BoolGrid:
    """Lift a cell mask to blocks: a cell's block and its four sides and corners."""
    h, w = cells.shape
    blocks = np.zeros((2 * h + 1, 2 * w + 1), dtype=np.bool_)
    for dr in range(3):
        for dc in range(3):
            blocks[dr : dr + 2 * h : 2, dc : dc + 2 * w : 2] |= cells
    return blocks


def render_ansi(maze: Maze, agent: Cell, *, seen: BoolGrid | None = None) -> str:
    """The whole maze as text: ``#`` wall, ``A`` agent, ``G`` goal, `` `` open.

    With a ``seen`` cell mask, open blocks the agent has never seen are drawn as ``.`` so an
    exploration trace can be read at a glance.
    """
    chars = np.where(maze.blocks, "#", " ")
    if seen is not None:
        unseen = ~_block_mask(seen) & ~maze.blocks
        chars[unseen] = "."
    chars[2 * maze.goal[0] + 1, 2 * maze.goal[1] + 1] = "G"
    chars[2 * agent[0] + 1, 2 * agent[1] + 1] = "A"
    return "\n".join("".join(row) for row in chars.tolist())


def render_rgb(
    maze: Maze,
    agent: Cell,
    *,
    visible: BoolGrid | None = None,
    seen: BoolGrid | None = None,
    scale: int = 6,
) -> npt.NDArray[np.uint8]:
    """The whole maze as an ``(H, W, 3)`` uint8 image, ``scale`` pixels per block.

    Walls are dark, the goal green, the agent red; with masks, open blocks currently ``visible``
    are tinted yellow and those never ``seen`` are grey.
    """
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    kinds = np.full(maze.blocks.shape, _SEEN, dtype=np.uint8)
    if seen is not None:
        kinds[~_block_mask(seen)] = _UNSEEN
    if visible is not None:
        kinds[_block_mask(visible)] = _VISIBLE
    kinds[maze.blocks] = _WALL
    kinds[2 * maze.goal[0] + 1, 2 * maze.goal[1] + 1] = _GOAL
    kinds[2 * agent[0] + 1, 2 * agent[1] + 1] = _AGENT
    image = _PALETTE[kinds]
    return np.ascontiguousarray(np.repeat(np.repeat(image, scale, axis=0), scale, axis=1))


def save_png(image: npt.NDArray[np.uint8], path: str | PathLike[str]) -> None:
    """Write an ``(H, W, 3)`` uint8 image as a PNG file."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    Image.fromarray(image).save(path, format="PNG")
